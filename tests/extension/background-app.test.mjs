// The whole background against a fake browser API, a scripted host on an in-memory port and
// a real local HTTP server standing in for Vinted.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { startBackground } from "../../extension/src/background-app.js";
import { FakeEvent, FakePort, FakeStorageArea, flush, sendHtml, sendJson, startServer } from "./helpers.mjs";

const ID = "kikocaejcljggdneaelndeobljajgmho";
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const PHOTO = Buffer.from("\xff\xd8\xff fake jpeg bytes \x00\x01\x02", "latin1");

let server;
before(async () => {
  server = await startServer(async (req, res, body) => {
    if (req.url === "/") return sendHtml(res, 200, '<meta name="csrf-token" content="page-token">');
    if (req.url === "/api/v2/photos") {
      const form = await new Response(body, { headers: { "content-type": req.headers["content-type"] } }).formData();
      const file = form.get("photo[file]");
      return sendJson(res, 200, { id: 555, type: form.get("photo[type]"), sha256: sha256(Buffer.from(await file.arrayBuffer())), csrf: req.headers["x-csrf-token"], anon: req.headers["x-anon-id"] });
    }
    if (req.url === "/api/v2/expired") return sendJson(res, 401, { code: 100 });
    return sendJson(res, 404, {});
  });
});
after(() => server.close());

/** A scripted host: answers by method; records every message the extension sent. */
function scriptedHost(port, handlers) {
  port.onPost = (message) => {
    if (message.id === undefined) return;
    const handler = handlers[message.method];
    queueMicrotask(async () => {
      if (!handler) return port.deliver({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "unknown method" } });
      try {
        port.deliver({ jsonrpc: "2.0", id: message.id, result: await handler(message.params) });
      } catch (error) {
        port.deliver({ jsonrpc: "2.0", id: message.id, error: { code: -32000, message: error.message } });
      }
    });
  };
}

function fakeApi() {
  const ports = [];
  const api = {
    ports,
    runtime: {
      id: ID,
      lastError: undefined,
      getURL: (path) => `chrome-extension://${ID}/${path}`,
      getManifest: () => ({ version: "0.1.0" }),
      connectNative: (name) => {
        const port = new FakePort(name);
        ports.push(port);
        api.onConnect?.(port);
        return port;
      },
      onMessage: new FakeEvent(),
      onStartup: new FakeEvent(),
      onInstalled: new FakeEvent(),
    },
    storage: { local: new FakeStorageArea(), sync: new FakeStorageArea({ vintedDomain: "www.vinted.fr" }), onChanged: new FakeEvent() },
    cookies: {
      onChanged: new FakeEvent(),
      get: async ({ url, name }) => (url === "https://www.vinted.fr/" && name === "anon_id" ? { name, value: "anon-777" } : null),
      getAll: async () => [],
    },
  };
  return api;
}

/** Routes the fixed https://www.vinted.fr origin to the local server. */
const routedFetch = (url, init) => fetch(String(url).replace("https://www.vinted.fr", server.origin), init);

async function waitFor(predicate, what, timeoutMs = 2_000) {
  for (let i = 0; i < timeoutMs / 10; i += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const sentMethods = (port) => port.sent.filter((m) => m.method).map((m) => m.method);

test("hello, first listing, multipart task with a blob, result, then tasks.available", async () => {
  const api = fakeApi();
  const listings = [
    [{ id: 41, queue_id: 7, platform: "vinted", operation: "publish", step: "photo_1", http_method: "POST", path: "/api/v2/photos", body: "multipart",
      payload: { "photo[type]": "item", "photo[temp_uuid]": "u-1", "photo[file]": { $blob: sha256(PHOTO), filename: "1.jpg", content_type: "image/jpeg", size: PHOTO.length } },
      attempt: 1, max_attempts: 3, created_at: "2026-01-01T00:00:00Z" }],
    [],
    [],
  ];
  const results = [];
  api.onConnect = (port) => scriptedHost(port, {
    hello: async () => ({ host: "stoflow-host", version: "9.9.9", protocol: 1 }),
    "tasks.list": async () => listings.shift() ?? [],
    "queues.list": async () => [],
    "blobs.read": async ({ blob, offset, length }) => {
      assert.equal(blob, sha256(PHOTO));
      const slice = PHOTO.subarray(offset, offset + length);
      return { blob, offset, size: PHOTO.length, data: slice.toString("base64"), eof: offset + slice.length >= PHOTO.length };
    },
    "tasks.result": async (params) => {
      results.push(params);
      return { success: true, task_id: params.task_id, status: "success", next_task_id: null, queue_status: "processing", message: "ok" };
    },
  });
  const app = startBackground({ api, fetch: routedFetch, log: { warn() {}, error() {} } });
  const [port] = api.ports;
  assert.equal(port.name, "com.stoflow.companion");
  await waitFor(() => results.length === 1, "tasks.result");
  assert.deepEqual(port.sent[0].params, { client: "stoflow-extension", version: "0.1.0", browser: "chrome", platforms: ["vinted"] });
  assert.deepEqual(results[0], { task_id: 41, attempt: 1, success: true, http_status: 200, lease_next: true, result: { id: 555, type: "item", sha256: sha256(PHOTO), csrf: "page-token", anon: "anon-777" } });
  const methods = sentMethods(port);
  assert.equal(methods[0], "hello");
  assert.equal(methods[1], "tasks.list");
  assert.ok(methods.includes("blobs.read"));

  const stored = api.storage.local.items.connection;
  assert.equal(stored.state, "connected");
  assert.equal(stored.host_version, "9.9.9");

  const listsBefore = sentMethods(port).filter((m) => m === "tasks.list").length;
  port.deliver({ jsonrpc: "2.0", method: "tasks.available", params: { platforms: ["vinted"] } });
  await flush();
  assert.equal(sentMethods(port).filter((m) => m === "tasks.list").length, listsBefore + 1);
  app.connection.stop();
});

// Chrome pays more per message the larger it is, Firefox pays per message (blobs.js).
for (const [browser, baseUrl, chunk, window] of [
  ["chrome", `chrome-extension://${ID}/`, 131_072, 8],
  ["firefox", "moz-extension://0b6c6f8e-1d52-4d7e-9d0a-3f4a8c2b9e11/", 524_288, 4],
]) {
  test(`${browser}: a photo is read in ${chunk / 1024} KiB chunks, ${window} asked for at once, and uploaded whole`, async () => {
    const api = fakeApi();
    api.runtime.getURL = (path) => `${baseUrl}${path}`;
    const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(2_500_000, 7)]);
    const task = { id: 42, queue_id: 8, platform: "vinted", operation: "publish", step: "photo_1", http_method: "POST", path: "/api/v2/photos", body: "multipart",
      payload: { "photo[type]": "item", "photo[file]": { $blob: sha256(photo), filename: "1.jpg", content_type: "image/jpeg", size: photo.length } },
      attempt: 1, max_attempts: 3, created_at: "2026-01-01T00:00:00Z" };
    const listings = [[task]];
    const reads = [];
    const results = [];
    api.onConnect = (port) => scriptedHost(port, {
      hello: async () => ({ host: "stoflow-host", version: "9.9.9", protocol: 1 }),
      "tasks.list": async () => listings.shift() ?? [],
      "queues.list": async () => [],
      "blobs.read": async ({ blob, offset, length }) => {
        reads.push({ offset, length });
        const slice = photo.subarray(offset, offset + length);
        return { blob, offset, size: photo.length, data: slice.toString("base64"), eof: offset + slice.length >= photo.length };
      },
      "tasks.result": async (params) => {
        results.push(params);
        return { success: true, task_id: params.task_id, status: "success", next_task_id: null, queue_status: "processing", message: "ok" };
      },
    });
    const app = startBackground({ api, fetch: routedFetch, log: { warn() {}, error() {} } });
    await waitFor(() => results.length === 1, "tasks.result");
    assert.equal(results[0].success, true, results[0].error_message);
    assert.equal(results[0].result.sha256, sha256(photo));
    const count = Math.ceil(photo.length / chunk);
    assert.deepEqual(reads, Array.from({ length: count }, (_, i) => ({ offset: i * chunk, length: chunk })));
    const methods = sentMethods(api.ports[0]);
    const first = methods.indexOf("blobs.read");
    assert.deepEqual(methods.slice(first, first + window), Array(window).fill("blobs.read"), `${window} asked for before the first answer was used`);
    assert.equal(api.ports[0].sent[0].params.browser, browser);
    app.connection.stop();
  });
}

test("popup messages are proxied to the host; status is answered locally", async () => {
  const api = fakeApi();
  api.onConnect = (port) => scriptedHost(port, {
    hello: async () => ({ host: "stoflow-host", version: "1.0.0", protocol: 1 }),
    "tasks.list": async () => [],
    "queues.list": async (params) => [{ id: 3, status: "failed", params }],
    "queues.retry": async ({ queue_id }) => ({ id: queue_id, status: "queued" }),
  });
  const app = startBackground({ api, fetch: routedFetch, log: { warn() {}, error() {} } });
  await waitFor(() => app.connection.connected, "connection");
  const sender = { id: ID, url: `chrome-extension://${ID}/popup.html` };
  const ask = (message) => new Promise((resolve) => {
    assert.equal(api.runtime.onMessage.listeners.length, 1);
    assert.equal(api.runtime.onMessage.listeners[0](message, sender, resolve), true);
  });
  assert.deepEqual(await ask({ type: "stoflow/call", method: "queues.list", params: { limit: 50 } }), { ok: true, result: [{ id: 3, status: "failed", params: { limit: 50 } }] });
  assert.deepEqual(await ask({ type: "stoflow/call", method: "queues.retry", params: { queue_id: 3 } }), { ok: true, result: { id: 3, status: "queued" } });
  assert.equal((await ask({ type: "stoflow/status" })).status.state, "connected");
  assert.equal((await ask({ type: "stoflow/call", method: "tasks.result", params: {} })).ok, false);
  app.connection.stop();
});

test("session_expired arms the cookie watcher, a login cookie resumes paused queues", async () => {
  const api = fakeApi();
  const resumed = [];
  let pausedQueues = [];
  api.onConnect = (port) => scriptedHost(port, {
    hello: async () => ({ host: "stoflow-host", version: "1.0.0", protocol: 1 }),
    "tasks.list": (() => {
      let first = true;
      return async () => {
        if (!first) return [];
        first = false;
        return [{ id: 50, queue_id: 8, platform: "vinted", http_method: "GET", path: "/api/v2/expired", body: "none", payload: null }];
      };
    })(),
    "tasks.result": async (params) => {
      if (params.error_kind === "session_expired") pausedQueues = [{ id: 8, platform: "vinted", status: "paused", paused_reason: "session expired" }];
      return { success: true, task_id: params.task_id, status: "failed", queue_status: "paused" };
    },
    "queues.list": async () => pausedQueues,
    "queues.resume": async ({ queue_id }) => {
      resumed.push(queue_id);
      return { id: queue_id, status: "queued" };
    },
  });
  const app = startBackground({ api, fetch: routedFetch, log: { warn() {}, error() {} } });
  await waitFor(() => app.watcher.armed, "watcher armed");
  api.cookies.onChanged.emit({ removed: false, cause: "explicit", cookie: { name: "_vinted_fr_session", domain: ".vinted.fr", value: "logged-in" } });
  await waitFor(() => resumed.length === 1, "queues.resume", 5_000); // 2 s debounce, real timers
  assert.deepEqual(resumed, [8]);
  app.connection.stop();
  app.watcher.stop();
});

test("not installed: status stored for the popup, reconnect scheduled", async () => {
  const api = fakeApi();
  api.onConnect = (port) => queueMicrotask(() => {
    api.runtime.lastError = { message: "Specified native messaging host not found." };
    port.onDisconnect.emit(port);
    api.runtime.lastError = undefined;
  });
  const timers = [];
  const app = startBackground({ api, fetch: routedFetch, setTimeout: (fn, ms) => { timers.push(ms); return timers.length; }, clearTimeout: () => {}, log: { warn() {}, error() {} } });
  await flush();
  assert.equal(api.storage.local.items.connection.state, "not_installed");
  assert.ok(timers.includes(1000));
  app.connection.stop();
});
