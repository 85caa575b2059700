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

function strict(original) {
  return function browserLike(...args) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    return original.apply(globalThis, args);
  };
}

/** Runs `body` with browser-like globals, restoring node's afterwards. */
async function withBrowserGlobals(body, fetchImpl = globalThis.fetch) {
  const saved = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, fetch: globalThis.fetch };
  globalThis.setTimeout = strict(saved.setTimeout);
  globalThis.clearTimeout = strict(saved.clearTimeout);
  globalThis.fetch = strict(fetchImpl);
  try {
    await body();
  } finally {
    Object.assign(globalThis, saved);
  }
}

test("the strict globals really reject method-style calls", async () => {
  await withBrowserGlobals(() => {
    const holder = { setTimer: globalThis.setTimeout };
    assert.throws(() => holder.setTimer(() => {}, 1), /Illegal invocation/);
  });
});

test("RpcClient default timers", async () => {
  await withBrowserGlobals(async () => {
    const client = new RpcClient({ post: () => {} });
    const pending = client.request("hello", {});
    client.close("done");
    await assert.rejects(pending, /aborted: done/);
  });
});

test("NativeConnection default timers", async () => {
  await withBrowserGlobals(async () => {
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
});

test("SessionWatcher default timers", async () => {
  await withBrowserGlobals(async () => {
    const watcher = new SessionWatcher({ request: async () => [] });
    await watcher.arm();
    watcher.onCookieChanged({ removed: false, cookie: { name: "_vinted_fr_session", domain: ".vinted.fr", value: "x" } });
    watcher.stop();
  });
});

test("CsrfTokenProvider and executor default fetch", async () => {
  const fakeFetch = async () => new Response('<meta name="csrf-token" content="tok">', { headers: { "content-type": "text/html" } });
  await withBrowserGlobals(async () => {
    assert.equal(await new CsrfTokenProvider().get("https://www.vinted.fr"), "tok");
    const executor = createExecutor({ resolveOrigin: async () => "https://www.vinted.fr", csrf: { get: async () => null, invalidate() {} }, readBlobChunk: async () => null });
    const result = await executor.execute({ id: 1, platform: "vinted", http_method: "GET", path: "/", body: "none" });
    assert.equal(result.error_kind, "challenge"); // the page is HTML: what matters is that fetch ran
    assert.equal(result.http_status, 200);
  }, fakeFetch);
});
