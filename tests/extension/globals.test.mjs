// Regression: browsers throw "Illegal invocation" when setTimeout / clearTimeout / fetch are
// called as methods of another object (node does not). Found loading the extension in
// Chromium; these tests make node behave like the browser for the default dependencies.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NativeConnection } from "../../extension/src/connection.js";
import { CsrfTokenProvider } from "../../extension/src/csrf.js";
import { createExecutor } from "../../extension/src/executor.js";
import { RpcClient } from "../../extension/src/rpc.js";
import { SessionWatcher } from "../../extension/src/session-watch.js";
import { FakePort, flush } from "./helpers.mjs";

function strict(original, calls, name) {
  return function browserLike(...args) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    calls[name] += 1;
    return original.apply(globalThis, args);
  };
}

/**
 * Runs `body` with browser-like globals, restoring node's afterwards. Returns how often each
 * global was called, so a test proves the default really went through the global (a module
 * that kept a bound copy from load time, or never called it, would pass a throw-only check).
 */
async function withBrowserGlobals(body, fetchImpl = globalThis.fetch) {
  const saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, fetch: globalThis.fetch };
  const calls = { setTimeout: 0, clearTimeout: 0, fetch: 0 };
  globalThis.setTimeout = strict(saved.setTimeout, calls, "setTimeout");
  globalThis.clearTimeout = strict(saved.clearTimeout, calls, "clearTimeout");
  globalThis.fetch = strict(fetchImpl, calls, "fetch");
  try {
    await body();
  } finally {
    Object.assign(globalThis, saved);
  }
  return calls;
}

test("the strict globals really reject method-style calls", async () => {
  await withBrowserGlobals(() => {
    const holder = { setTimer: globalThis.setTimeout };
    assert.throws(() => holder.setTimer(() => {}, 1), /Illegal invocation/);
  });
});

test("RpcClient default timers", async () => {
  const calls = await withBrowserGlobals(async () => {
    const client = new RpcClient({ post: () => {} });
    const pending = client.request("hello", {});
    client.close("done");
    await assert.rejects(pending, /aborted: done/);
  });
  assert.equal(calls.setTimeout, 1, "the request's timeout was armed through the global");
  assert.equal(calls.clearTimeout, 1, "and cleared through it when the request settled");
});

test("NativeConnection default timers", async () => {
  const calls = await withBrowserGlobals(async () => {
    const statuses = [];
    const connection = new NativeConnection({
      connectNative: (name) => {
        const port = new FakePort(name);
        queueMicrotask(() => port.hostDisconnect("Specified native messaging host not found."));
        return port;
      },
      readPortError: (port) => port.error?.message ?? "",
      helloParams: () => ({}),
      onStatus: (status) => statuses.push(status.state),
    });
    connection.start();
    await flush();
    connection.stop();
    assert.deepEqual(statuses, ["connecting", "not_installed"]);
  });
  assert.ok(calls.setTimeout + calls.clearTimeout > 0, "the reconnect timer went through the globals");
});

test("SessionWatcher default timers", async () => {
  const calls = await withBrowserGlobals(async () => {
    const watcher = new SessionWatcher({ request: async () => [] });
    await watcher.arm();
    watcher.onCookieChanged({ removed: false, cookie: { name: "_vinted_fr_session", domain: ".vinted.fr", value: "x" } });
    assert.notEqual(watcher.timer, null, "a login cookie schedules a resume");
    watcher.stop();
    assert.equal(watcher.timer, null);
  });
  assert.deepEqual([calls.setTimeout, calls.clearTimeout], [1, 1]);
});

test("CsrfTokenProvider and executor default fetch", async () => {
  const fakeFetch = async () => new Response('<meta name="csrf-token" content="tok">', { headers: { "content-type": "text/html" } });
  const calls = await withBrowserGlobals(async () => {
    assert.equal(await new CsrfTokenProvider().get("https://www.vinted.fr"), "tok");
    const executor = createExecutor({ resolveOrigin: async () => "https://www.vinted.fr", csrf: { get: async () => null, invalidate() {} }, readBlobChunk: async () => null });
    const result = await executor.execute({ id: 1, platform: "vinted", http_method: "GET", path: "/", body: "none" });
    assert.equal(result.error_kind, "challenge"); // the page is HTML: what matters is that fetch ran
    assert.equal(result.http_status, 200);
  }, fakeFetch);
  assert.equal(calls.fetch, 2, "the CSRF page and the task, each through the global fetch");
});
