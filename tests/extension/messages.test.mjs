// The popup/options ↔ background message API.
import assert from "node:assert/strict";
import { test } from "node:test";
import { callBackground, createMessageHandler, MessageType, PROXIED_METHODS } from "../../extension/src/messages.js";

const ID = "kikocaejcljggdneaelndeobljajgmho";
const BASE = `chrome-extension://${ID}/`;
const popupSender = { id: ID, url: `${BASE}popup.html` };

function fakeConnection() {
  const calls = [];
  return {
    calls,
    status: { state: "connected", host_version: "1.0.0" },
    reconnects: 0,
    reconnectNow() { this.reconnects += 1; this.status = { state: "connecting" }; },
    async request(method, params) {
      calls.push({ method, params });
      if (method === "queues.retry") throw Object.assign(new Error("wrong state"), { code: -32003 });
      return [{ id: 1, status: "queued" }];
    },
  };
}

/** Calls the listener the way the browser does and resolves with what sendResponse got. */
function dispatch(listener, message, sender = popupSender) {
  return new Promise((resolve) => {
    const keepOpen = listener(message, sender, resolve);
    if (keepOpen !== true) resolve({ ignored: true, returned: keepOpen });
  });
}

test("status and reconnect", async () => {
  const connection = fakeConnection();
  const listener = createMessageHandler({ connection, extensionId: ID, extensionBaseUrl: BASE });
  assert.deepEqual(await dispatch(listener, { type: MessageType.STATUS }), { ok: true, status: { state: "connected", host_version: "1.0.0" } });
  assert.deepEqual(await dispatch(listener, { type: MessageType.RECONNECT }), { ok: true, status: { state: "connecting" } });
  assert.equal(connection.reconnects, 1);
});

test("whitelisted host calls are proxied with their params", async () => {
  const connection = fakeConnection();
  const listener = createMessageHandler({ connection, extensionId: ID, extensionBaseUrl: BASE });
  const reply = await dispatch(listener, { type: MessageType.CALL, method: "queues.list", params: { limit: 50 } });
  assert.deepEqual(reply, { ok: true, result: [{ id: 1, status: "queued" }] });
  assert.deepEqual(connection.calls, [{ method: "queues.list", params: { limit: 50 } }]);
  assert.deepEqual(PROXIED_METHODS, ["queues.list", "queues.get", "queues.retry", "queues.cancel", "queues.resume"]);
});

test("host errors come back as {ok:false} with the JSON-RPC code", async () => {
  const listener = createMessageHandler({ connection: fakeConnection(), extensionId: ID, extensionBaseUrl: BASE });
  assert.deepEqual(await dispatch(listener, { type: MessageType.CALL, method: "queues.retry", params: { queue_id: 2 } }), { ok: false, error: { message: "wrong state", code: -32003 } });
});

test("methods outside the whitelist are refused without reaching the host", async (t) => {
  for (const method of ["tasks.result", "tasks.list", "blobs.read", "hello", "products.publish", undefined]) {
    await t.test(String(method), async () => {
      const connection = fakeConnection();
      const listener = createMessageHandler({ connection, extensionId: ID, extensionBaseUrl: BASE });
      const reply = await dispatch(listener, { type: MessageType.CALL, method, params: {} });
      assert.equal(reply.ok, false);
      assert.match(reply.error.message, /not available/);
      assert.deepEqual(connection.calls, []);
    });
  }
});

test("messages from elsewhere or of other kinds are not handled", async () => {
  const listener = createMessageHandler({ connection: fakeConnection(), extensionId: ID, extensionBaseUrl: BASE });
  const foreign = [
    [{ type: MessageType.STATUS }, { id: "other-extension", url: "chrome-extension://other/popup.html" }],
    [{ type: MessageType.STATUS }, { id: ID, url: "https://www.vinted.fr/" }],
    [{ type: MessageType.STATUS }, null],
    [{ type: "something/else" }, popupSender],
    [null, popupSender],
  ];
  for (const [message, sender] of foreign) {
    assert.deepEqual(await dispatch(listener, message, sender), { ignored: true, returned: false });
  }
  assert.equal((await dispatch(listener, { type: "stoflow/nope" })).ok, false);
});

test("callBackground unwraps replies and throws the background's error", async () => {
  const runtime = { sendMessage: async (message) => (message.type === "good" ? { ok: true, result: 5 } : { ok: false, error: { message: "nope", code: -32001 } }) };
  assert.deepEqual(await callBackground(runtime, { type: "good" }), { ok: true, result: 5 });
  await assert.rejects(callBackground(runtime, { type: "bad" }), (error) => error.message === "nope" && error.code === -32001);
  await assert.rejects(callBackground({ sendMessage: async () => undefined }, {}), /no answer/);
});
