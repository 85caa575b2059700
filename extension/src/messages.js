// The tiny internal API between the extension's pages (popup, options) and the background.
//
// The background owns the single native port; pages never talk to the host directly. They
// send one of these messages with runtime.sendMessage and get `{ok: true, ...}` or
// `{ok: false, error: {message, code?}}` back:
//
//   {type: "stoflow/status"}                       → {ok, status}   connection status
//   {type: "stoflow/reconnect"}                    → {ok, status}   reconnect now, reset back-off
//   {type: "stoflow/call", method, params}         → {ok, result}   proxied host request
//
// Only the queue methods below may be proxied: a page has no business sending tasks.result
// or reading blobs, and the whitelist keeps a compromised page from doing so.

// Pages can also read the last status without the background: it is mirrored in
// storage.local under this key ({state, message, host, host_version, protocol, since, ...}).
export const CONNECTION_STORAGE_KEY = "connection";

export const MessageType = Object.freeze({
  STATUS: "stoflow/status",
  RECONNECT: "stoflow/reconnect",
  CALL: "stoflow/call",
});

export const PROXIED_METHODS = Object.freeze(["queues.list", "queues.get", "queues.retry", "queues.cancel", "queues.resume"]);

function errorReply(error) {
  const reply = { ok: false, error: { message: error?.message || String(error) } };
  if (Number.isInteger(error?.code)) reply.error.code = error.code;
  return reply;
}

/**
 * Builds the runtime.onMessage listener. Uses sendResponse + `return true` rather than
 * returning a promise, because Chrome ignores promise returns from onMessage listeners.
 * @param {object} deps
 * @param {object} deps.connection NativeConnection (status, request, reconnectNow)
 * @param {string} deps.extensionId runtime.id, to ignore anything not from our own pages
 * @param {string} [deps.extensionBaseUrl] runtime.getURL(""); when given, senders must be our pages
 */
export function createMessageHandler({ connection, extensionId, extensionBaseUrl }) {
  async function handle(message) {
    switch (message.type) {
      case MessageType.STATUS:
        return { ok: true, status: connection.status };
      case MessageType.RECONNECT:
        connection.reconnectNow();
        return { ok: true, status: connection.status };
      case MessageType.CALL:
        if (!PROXIED_METHODS.includes(message.method)) throw new Error(`method ${message.method} is not available to extension pages`);
        return { ok: true, result: await connection.request(message.method, message.params ?? {}) };
      default:
        throw new Error(`unknown message type ${message.type}`);
    }
  }

  return function onMessage(message, sender, sendResponse) {
    if (sender?.id !== extensionId || typeof message?.type !== "string" || !message.type.startsWith("stoflow/")) return false;
    if (extensionBaseUrl && !String(sender.url ?? "").startsWith(extensionBaseUrl)) return false;
    handle(message).then(sendResponse, (error) => sendResponse(errorReply(error)));
    return true;
  };
}

/** Page side: sends a message and unwraps the reply; throws with the background's message. */
export async function callBackground(runtime, message) {
  const reply = await runtime.sendMessage(message);
  if (!reply?.ok) {
    const error = new Error(reply?.error?.message || "no answer from the extension background");
    if (reply?.error?.code !== undefined) error.code = reply.error.code;
    throw error;
  }
  return reply;
}
