// JSON-RPC client over an in-memory port: ids, matching, errors, timeouts, notifications.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcClient, RpcError, RpcUnavailable } from "../../extension/src/rpc.js";
import { FakePort, ManualClock } from "./helpers.mjs";

function setup(options = {}) {
  const port = new FakePort("com.stoflow.companion");
  const clock = new ManualClock();
  const notifications = [];
  const client = new RpcClient({
    post: (message) => port.postMessage(message),
    onNotification: (method, params) => notifications.push({ method, params }),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    timeoutMs: 60_000,
    ...options,
  });
  port.onMessage.addListener((message) => client.handleMessage(message));
  return { port, clock, client, notifications };
}

test("requests are JSON-RPC 2.0 with incrementing integer ids", () => {
  const { port, client } = setup();
  client.request("hello", { client: "x" });
  client.request("tasks.list", { limit: 10 });
  assert.deepEqual(port.sent, [
    { jsonrpc: "2.0", id: 1, method: "hello", params: { client: "x" } },
    { jsonrpc: "2.0", id: 2, method: "tasks.list", params: { limit: 10 } },
  ]);
});

test("responses are matched by id, in any order", async () => {
  const { port, client } = setup();
  const first = client.request("a", {});
  const second = client.request("b", {});
  port.deliver({ jsonrpc: "2.0", id: 2, result: "two" });
  port.deliver({ jsonrpc: "2.0", id: 1, result: { one: 1 } });
  assert.deepEqual(await first, { one: 1 });
  assert.equal(await second, "two");
  assert.equal(client.pendingCount, 0);
});

test("a JSON-RPC error rejects with code, message and data", async () => {
  const { port, client } = setup();
  const pending = client.request("queues.retry", { queue_id: 9 });
  port.deliver({ jsonrpc: "2.0", id: 1, error: { code: -32003, message: "wrong state", data: { status: "completed" } } });
  await assert.rejects(pending, (error) => error instanceof RpcError && error.code === -32003 && error.message === "wrong state" && error.data.status === "completed");
});

test("a request without an answer times out, and a late answer is ignored", async () => {
  const { port, client, clock } = setup();
  const pending = client.request("tasks.list", {}, { timeoutMs: 5_000 });
  let settled = false;
  pending.catch(() => {}).finally(() => { settled = true; });
  await clock.advance(4_999);
  assert.equal(settled, false);
  await clock.advance(1);
  await assert.rejects(pending, (error) => error instanceof RpcUnavailable && /timed out after 5 s/.test(error.message));
  port.deliver({ jsonrpc: "2.0", id: 1, result: [] }); // must not throw or resolve anything
  assert.equal(client.pendingCount, 0);
});

test("the default timeout applies", async () => {
  const { client, clock } = setup();
  const rejected = assert.rejects(client.request("hello", {}), RpcUnavailable);
  assert.deepEqual(clock.pendingDelays(), [60_000]);
  await clock.advance(60_000);
  await rejected;
});

test("an answer clears its timer", async () => {
  const { port, client, clock } = setup();
  const pending = client.request("hello", {});
  port.deliver({ jsonrpc: "2.0", id: 1, result: {} });
  await pending;
  assert.deepEqual(clock.pendingDelays(), []);
});

test("notifications (method, no id) are dispatched, not treated as responses", async () => {
  const { port, client, notifications } = setup();
  const pending = client.request("x", {});
  port.deliver({ jsonrpc: "2.0", method: "tasks.available", params: { platforms: ["vinted"] } });
  port.deliver({ jsonrpc: "2.0", method: "tasks.available", id: null, params: {} });
  assert.deepEqual(notifications, [
    { method: "tasks.available", params: { platforms: ["vinted"] } },
    { method: "tasks.available", params: {} },
  ]);
  assert.equal(client.pendingCount, 1);
  port.deliver({ jsonrpc: "2.0", id: 1, result: 1 });
  assert.equal(await pending, 1);
});

test("a failing notification handler does not break the client", async () => {
  const { port, client } = setup({ onNotification: () => { throw new Error("boom"); } });
  const pending = client.request("x", {});
  const originalError = console.error;
  console.error = () => {};
  try {
    port.deliver({ jsonrpc: "2.0", method: "tasks.available" });
  } finally {
    console.error = originalError;
  }
  port.deliver({ jsonrpc: "2.0", id: 1, result: "ok" });
  assert.equal(await pending, "ok");
});

test("a request from the host is answered with method not found", () => {
  const { port } = setup();
  port.deliver({ jsonrpc: "2.0", id: "h1", method: "do.something", params: {} });
  assert.deepEqual(port.sent, [{ jsonrpc: "2.0", id: "h1", error: { code: -32601, message: "unknown method do.something" } }]);
});

test("malformed messages and unknown ids are ignored", async () => {
  const { port, client } = setup();
  const pending = client.request("x", {});
  for (const junk of [null, 42, "text", [], { id: 99, result: 1 }, { jsonrpc: "2.0" }]) port.deliver(junk);
  assert.equal(client.pendingCount, 1);
  port.deliver({ jsonrpc: "2.0", id: 1, result: "fine" });
  assert.equal(await pending, "fine");
});

test("close rejects everything pending and later requests", async () => {
  const { client, clock } = setup();
  const a = client.request("a", {});
  const b = client.request("b", {});
  client.close("Native host has exited.");
  await assert.rejects(a, /a aborted: Native host has exited/);
  await assert.rejects(b, RpcUnavailable);
  await assert.rejects(client.request("c", {}), /Native host has exited/);
  assert.deepEqual(clock.pendingDelays(), []);
});

test("posting to a dead port rejects at once instead of waiting for the timeout", async () => {
  const { port, client, clock } = setup();
  port.connected = false;
  await assert.rejects(client.request("hello", {}), /cannot send hello: Attempting to use a disconnected port/);
  assert.deepEqual(clock.pendingDelays(), []);
});
