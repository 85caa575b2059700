// The native connection state machine with in-memory ports and a manual clock: hello,
// statuses for each failure as Chrome and Firefox report it, and the reconnect schedule.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readPortError } from "../../extension/src/browser.js";
import { classifyDisconnect, ConnectionState, HOST_NAME, NativeConnection } from "../../extension/src/connection.js";
import { RpcUnavailable } from "../../extension/src/rpc.js";
import { flush, FakePort, ManualClock } from "./helpers.mjs";

const HELLO_RESULT = { host: "stoflow-host", version: "1.2.3", protocol: 1 };

/**
 * Builds a connection whose connectNative hands out FakePorts. `host(port)` decides how the
 * fake host behaves for each new port (answer hello, fail, stay silent).
 */
function setup({ host = answerHello } = {}) {
  const clock = new ManualClock();
  const api = { runtime: { lastError: undefined } };
  const ports = [];
  const statuses = [];
  const notifications = [];
  let readyCount = 0;
  const connection = new NativeConnection({
    connectNative: (name) => {
      const port = new FakePort(name);
      ports.push(port);
      host(port, api);
      return port;
    },
    readPortError: (port) => readPortError(port, api),
    helloParams: () => ({ client: "stoflow-extension", version: "0.1.0", browser: "chrome", platforms: ["vinted"] }),
    onStatus: (status) => statuses.push(status),
    onReady: () => { readyCount += 1; },
    onNotification: (method, params) => notifications.push({ method, params }),
    requestTimeoutMs: 60_000,
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
  });
  return { clock, api, ports, statuses, notifications, connection, ready: () => readyCount };
}

function answerHello(port) {
  port.onPost = (message) => {
    if (message.method === "hello") queueMicrotask(() => port.deliver({ jsonrpc: "2.0", id: message.id, result: HELLO_RESULT }));
  };
}

/** Chrome: the port closes and the reason is in runtime.lastError during onDisconnect. */
function chromeFails(message) {
  return (port, api) => {
    queueMicrotask(() => {
      port.connected = false;
      api.runtime.lastError = { message };
      port.onDisconnect.emit(port);
      api.runtime.lastError = undefined;
    });
  };
}

/** Firefox: the reason is in port.error. */
function firefoxFails(message) {
  return (port) => queueMicrotask(() => port.hostDisconnect(message));
}

const last = (array) => array[array.length - 1];

test("classifies the browsers' disconnect reasons", () => {
  const cases = [
    ["Specified native messaging host not found.", "not_installed"],
    ["No such native application com.stoflow.companion", "not_installed"],
    ["Native host has exited.", "disconnected"],
    ["", "disconnected"],
    [undefined, "disconnected"],
    ["Access to the specified native messaging host is forbidden.", "error"],
    ["Error when communicating with the native messaging host.", "error"],
    ["An unexpected error occurred", "error"],
  ];
  for (const [reason, state] of cases) {
    const verdict = classifyDisconnect(reason);
    assert.equal(verdict.state, state, String(reason));
    assert.ok(verdict.message.length > 10);
  }
});

test("connects, says hello with the expected params, then reports connected", async () => {
  const { connection, ports, statuses, ready } = setup();
  connection.start();
  assert.equal(ports.length, 1);
  assert.equal(ports[0].name, HOST_NAME);
  assert.equal(statuses[0].state, "connecting");
  await flush();
  assert.deepEqual(ports[0].sent[0], { jsonrpc: "2.0", id: 1, method: "hello", params: { client: "stoflow-extension", version: "0.1.0", browser: "chrome", platforms: ["vinted"] } });
  const status = last(statuses);
  assert.equal(status.state, "connected");
  assert.equal(status.host_version, "1.2.3");
  assert.equal(status.host, "stoflow-host");
  assert.equal(status.protocol, 1);
  assert.match(status.since, /^\d{4}-\d\d-\d\dT/);
  assert.equal(ready(), 1);
  assert.equal(connection.connected, true);
});

test("start is a no-op while a connection exists", async () => {
  const { connection, ports } = setup();
  connection.start();
  connection.start();
  await flush();
  connection.start();
  assert.equal(ports.length, 1);
});

test("requests go through the port once connected, and fail fast before", async () => {
  const { connection, ports } = setup();
  await assert.rejects(connection.request("tasks.list", {}), RpcUnavailable);
  connection.start();
  await assert.rejects(connection.request("tasks.list", {}), /not connected/); // still connecting
  await flush();
  const pending = connection.request("tasks.list", { limit: 10 });
  const sent = last(ports[0].sent);
  assert.equal(sent.method, "tasks.list");
  ports[0].deliver({ jsonrpc: "2.0", id: sent.id, result: [] });
  assert.deepEqual(await pending, []);
});

test("notifications reach the handler", async () => {
  const { connection, ports, notifications } = setup();
  connection.start();
  await flush();
  ports[0].deliver({ jsonrpc: "2.0", method: "tasks.available", params: { platforms: ["vinted"] } });
  assert.deepEqual(notifications, [{ method: "tasks.available", params: { platforms: ["vinted"] } }]);
});

test("Chrome 'host not found' is not_installed, retried with back-off", async () => {
  const { connection, ports, statuses, clock } = setup({ host: chromeFails("Specified native messaging host not found.") });
  connection.start();
  await flush();
  let status = last(statuses);
  assert.equal(status.state, "not_installed");
  assert.match(status.message, /not installed/);
  assert.equal(status.retry_in_ms, 1000);
  assert.deepEqual(clock.pendingDelays(), [1000]);
  await clock.advance(1000);
  assert.equal(ports.length, 2);
  status = last(statuses);
  assert.equal(status.state, "not_installed");
  assert.equal(status.retry_in_ms, 2000);
  await clock.advance(2000);
  await clock.advance(4000);
  await clock.advance(8000);
  assert.equal(ports.length, 5);
  assert.equal(last(statuses).retry_in_ms, 16000);
});

test("Firefox 'No such native application' is not_installed", async () => {
  const { connection, statuses } = setup({ host: firefoxFails("No such native application com.stoflow.companion") });
  connection.start();
  await flush();
  assert.equal(last(statuses).state, "not_installed");
  assert.equal(last(statuses).detail, "No such native application com.stoflow.companion");
});

test("a host that exits is 'disconnected' (Chrome message and Firefox silence alike)", async () => {
  for (const exit of [(port, api) => chromeFails("Native host has exited.")(port, api), (port) => port.hostDisconnect(null)]) {
    const { connection, ports, statuses, api } = setup();
    connection.start();
    await flush();
    assert.equal(last(statuses).state, "connected");
    exit(ports[0], api);
    await flush();
    assert.equal(last(statuses).state, "disconnected");
    assert.match(last(statuses).message, /stopped/);
  }
});

test("other port errors are 'error' with the browser's message", async () => {
  const { connection, statuses } = setup({ host: chromeFails("Access to the specified native messaging host is forbidden.") });
  connection.start();
  await flush();
  assert.equal(last(statuses).state, "error");
  assert.match(last(statuses).message, /forbidden/);
});

test("pending requests fail when the host goes away, and reconnect follows", async () => {
  const { connection, ports, statuses, clock } = setup();
  connection.start();
  await flush();
  const pending = connection.request("tasks.list", {});
  ports[0].hostDisconnect(null);
  await assert.rejects(pending, RpcUnavailable);
  assert.deepEqual(clock.pendingDelays(), [1000]);
  await clock.advance(1000);
  assert.equal(ports.length, 2);
  assert.equal(last(statuses).state, "connected");
});

test("a hello error drops the port and retries", async () => {
  const { connection, ports, statuses, clock } = setup({
    host: (port) => {
      port.onPost = (m) => queueMicrotask(() => port.deliver({ jsonrpc: "2.0", id: m.id, error: { code: -32602, message: "unsupported client" } }));
    },
  });
  connection.start();
  await flush();
  assert.equal(last(statuses).state, "error");
  assert.match(last(statuses).message, /unsupported client/);
  assert.equal(ports[0].disconnectedByExtension, true);
  assert.deepEqual(clock.pendingDelays(), [1000]);
});

test("a silent host times out on hello", async () => {
  const { connection, ports, statuses, clock } = setup({ host: () => {} });
  connection.start();
  await clock.advance(60_000);
  assert.equal(last(statuses).state, "error");
  assert.match(last(statuses).message, /timed out/);
  assert.equal(ports[0].disconnectedByExtension, true);
});

test("back-off resets after a stable connection, not after a short one", async () => {
  let behaviour = "fail";
  const { connection, ports, statuses, clock } = setup({
    host: (port, api) => (behaviour === "fail" ? chromeFails("Native host has exited.")(port, api) : answerHello(port)),
  });
  connection.start();
  await flush();
  await clock.advance(1000); // 2nd attempt fails → next 4 s
  assert.equal(last(statuses).retry_in_ms, 2000);
  await clock.advance(2000);
  assert.equal(last(statuses).retry_in_ms, 4000);
  behaviour = "ok";
  await clock.advance(4000);
  assert.equal(last(statuses).state, "connected");
  await clock.advance(3000);
  last(ports).hostDisconnect(null); // dropped after 3 s: not stable
  await flush();
  assert.equal(last(statuses).retry_in_ms, 8000);
  await clock.advance(8000);
  assert.equal(last(statuses).state, "connected");
  await clock.advance(30_000);
  last(ports).hostDisconnect(null); // dropped after 30 s: stable
  await flush();
  assert.equal(last(statuses).retry_in_ms, 1000);
});

test("reconnectNow skips the wait and resets the back-off", async () => {
  let fail = true;
  const { connection, ports, statuses, clock } = setup({ host: (port, api) => (fail ? chromeFails("Specified native messaging host not found.")(port, api) : answerHello(port)) });
  connection.start();
  await flush();
  await clock.advance(1000);
  await clock.advance(2000);
  assert.equal(last(statuses).retry_in_ms, 4000);
  fail = false; // the seller just ran the installer
  connection.reconnectNow();
  await flush();
  assert.equal(ports.length, 4);
  assert.equal(last(statuses).state, "connected");
  assert.deepEqual(clock.pendingDelays(), []);
});

test("a synchronous connectNative failure is reported and retried", async () => {
  const clock = new ManualClock();
  const statuses = [];
  const connection = new NativeConnection({
    connectNative: () => { throw new Error("Access to the specified native messaging host is forbidden."); },
    readPortError: () => "",
    helloParams: () => ({}),
    onStatus: (status) => statuses.push(status),
    now: clock.now,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
  });
  connection.start();
  assert.equal(last(statuses).state, "error");
  assert.deepEqual(clock.pendingDelays(), [1000]);
});

test("stop cancels the reconnect timer and closes the port", async () => {
  const { connection, ports, clock } = setup();
  connection.start();
  await flush();
  connection.stop();
  assert.equal(ports[0].disconnectedByExtension, true);
  assert.deepEqual(clock.pendingDelays(), []);
  assert.equal(ConnectionState.CONNECTED, "connected");
});
