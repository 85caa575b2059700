// JSON-RPC 2.0 client over a message port (a native messaging port in production, an
// in-memory object in tests).
//
// Ids are incrementing integers, unique per client; a client lives exactly as long as one
// port, so ids never need to survive a reconnect. Every request has a timeout, because a
// host that stops answering must not leave a task or the popup waiting forever.

import { defaultClearTimeout, defaultSetTimeout } from "./globals.js";

export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const METHOD_NOT_FOUND = -32601;

/** An error the host answered with (a JSON-RPC error object). */
export class RpcError extends Error {
  constructor({ code, message, data }) {
    super(message || `JSON-RPC error ${code}`);
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }
}

/** No answer in time, or the port went away before the answer came. */
export class RpcUnavailable extends Error {
  constructor(message) {
    super(message);
    this.name = "RpcUnavailable";
  }
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export class RpcClient {
  /**
   * @param {object} options
   * @param {(message: object) => void} options.post sends one message (port.postMessage)
   * @param {(method: string, params: any) => void} [options.onNotification]
   * @param {number} [options.timeoutMs]
   * @param {Function} [options.setTimeout] injected for tests
   * @param {Function} [options.clearTimeout]
   */
  constructor({ post, onNotification = () => {}, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, setTimeout: setTimer = defaultSetTimeout, clearTimeout: clearTimer = defaultClearTimeout }) {
    this.post = post;
    this.onNotification = onNotification;
    this.timeoutMs = timeoutMs;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.nextId = 1;
    this.pending = new Map();
    this.closedReason = null;
  }

  /** Sends a request; resolves with `result`, rejects with RpcError or RpcUnavailable. */
  request(method, params, { timeoutMs = this.timeoutMs } = {}) {
    if (this.closedReason) return Promise.reject(new RpcUnavailable(this.closedReason));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.setTimer(() => {
        this.pending.delete(id);
        reject(new RpcUnavailable(`${method} timed out after ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, method });
      this.send({ jsonrpc: "2.0", id, method, params }, id);
    });
  }

  send(message, id) {
    try {
      this.post(message);
    } catch (error) {
      // Chrome throws synchronously when posting to a port that already disconnected.
      this.settle(id, (entry) => entry.reject(new RpcUnavailable(`cannot send ${message.method}: ${error.message}`)));
    }
  }

  settle(id, action) {
    const entry = this.pending.get(id);
    if (!entry) return false;
    this.pending.delete(id);
    this.clearTimer(entry.timer);
    action(entry);
    return true;
  }

  /** Feeds one incoming message (port.onMessage). Malformed messages are ignored. */
  handleMessage(message) {
    if (!isObject(message)) return;
    const hasId = message.id !== undefined && message.id !== null;
    if (typeof message.method === "string") {
      if (hasId) this.refuseRequest(message);
      else this.dispatchNotification(message);
      return;
    }
    if (!hasId) return;
    if (isObject(message.error)) {
      this.settle(message.id, (entry) => entry.reject(new RpcError(message.error)));
    } else {
      this.settle(message.id, (entry) => entry.resolve(message.result));
    }
  }

  dispatchNotification(message) {
    try {
      this.onNotification(message.method, message.params);
    } catch (error) {
      console.error("notification handler failed", message.method, error);
    }
  }

  /** The protocol defines no host→extension requests; answer politely instead of hanging the host. */
  refuseRequest(message) {
    try {
      this.post({ jsonrpc: "2.0", id: message.id, error: { code: METHOD_NOT_FOUND, message: `unknown method ${message.method}` } });
    } catch {
      // Port already gone; nothing to answer.
    }
  }

  /** Rejects everything still waiting; later requests fail at once. */
  close(reason = "connection closed") {
    this.closedReason = reason;
    for (const id of [...this.pending.keys()]) {
      this.settle(id, (entry) => entry.reject(new RpcUnavailable(`${entry.method} aborted: ${reason}`)));
    }
  }

  get pendingCount() {
    return this.pending.size;
  }
}
