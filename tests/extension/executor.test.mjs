// The executor against a real HTTP server: what is sent, and how every answer is reported.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { CsrfTokenProvider } from "../../extension/src/csrf.js";
import { createExecutor } from "../../extension/src/executor.js";
import { sendHtml, sendJson, startServer } from "./helpers.mjs";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const HOME_PAGE = (token) => `<!doctype html><html><head><meta charset="utf-8"><meta name="csrf-token" content="${token}"></head><body>home</body></html>`;

let server;
let rootFetches = 0;
let currentToken = "token-1";
let strictAttempts = 0;
let redirectTargetHits = 0;

async function echoMultipart(req, res, body) {
  const form = await new Response(body, { headers: { "content-type": req.headers["content-type"] } }).formData();
  const fields = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") fields.push({ name, value });
    else {
      const bytes = Buffer.from(await value.arrayBuffer());
      fields.push({ name, filename: value.name, type: value.type, size: bytes.length, sha256: sha256(bytes) });
    }
  }
  sendJson(res, 200, { fields });
}

const ROUTES = {
  "GET /": (req, res) => {
    rootFetches += 1;
    sendHtml(res, 200, HOME_PAGE(currentToken));
  },
  "POST /api/json": (req, res, body) =>
    sendJson(res, 200, {
      contentType: req.headers["content-type"],
      csrf: req.headers["x-csrf-token"] ?? null,
      anon: req.headers["x-anon-id"] ?? null,
      body: JSON.parse(body.toString("utf8")),
    }),
  "PUT /api/json": (req, res, body) => sendJson(res, 200, { method: "PUT", body: JSON.parse(body.toString("utf8")) }),
  "POST /api/upload": echoMultipart,
  "GET /api/plain": (req, res, body) => sendJson(res, 200, { length: body.length, contentType: req.headers["content-type"] ?? null }),
  "DELETE /api/thing": (req, res) => res.writeHead(204).end(),
  "GET /html-200": (req, res) => sendHtml(res, 200, "<html><body>Please log in</body></html>"),
  "GET /badjson": (req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{not json");
  },
  "GET /expired": (req, res) => sendJson(res, 401, { code: 100, message: "Unauthorized" }),
  "GET /expired-html": (req, res) => sendHtml(res, 401, "<html>login</html>"),
  "GET /challenge": (req, res) => sendHtml(res, 403, "<html><body>captcha</body></html>"),
  "GET /datadome": (req, res) => sendJson(res, 403, { url: "https://geo.captcha-delivery.com/captcha/?initialCid=x" }),
  "GET /forbidden-json": (req, res) => sendJson(res, 403, { code: 99, message: "Not your item" }),
  "GET /limited": (req, res) => sendJson(res, 429, { code: 429 }, { "Retry-After": "7" }),
  "GET /limited-none": (req, res) => sendJson(res, 429, {}),
  "GET /limited-long": (req, res) => sendJson(res, 429, {}, { "Retry-After": "100000" }),
  "POST /moved": (req, res) => {
    res.writeHead(307, { Location: "/redirect-target" });
    res.end();
  },
  "POST /redirect-target": (req, res) => {
    redirectTargetHits += 1;
    sendJson(res, 200, { id: 1, url: "https://elsewhere.example/x" });
  },
  "GET /error-500": (req, res) => {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(`Internal   error\n${"x".repeat(1000)}`);
  },
  "POST /invalid": (req, res) => sendJson(res, 422, { code: 99, errors: [{ field: "title", value: "is too short" }] }),
  "GET /slow": (req, res) => setTimeout(() => sendJson(res, 200, { late: true }), 2_000),
  "GET /slow-body": (req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write('{"partial":');
    setTimeout(() => res.end("true}"), 2_000);
  },
  "POST /csrf-strict": (req, res) => {
    strictAttempts += 1;
    if (req.headers["x-csrf-token"] !== currentToken) return sendJson(res, 403, { message: "Invalid CSRF token" });
    return sendJson(res, 200, { ok: true, token: req.headers["x-csrf-token"] });
  },
  "POST /always-bad-csrf": (req, res) => sendJson(res, 401, { message: "CSRF token mismatch" }),
};

before(async () => {
  server = await startServer((req, res, body) => {
    const route = ROUTES[`${req.method} ${req.url.split("?")[0]}`];
    if (!route) return sendJson(res, 404, { error: "no route" });
    return route(req, res, body);
  });
});
after(() => server.close());

/** An in-memory host blob store answering blobs.read like the host does. */
function blobStore(files, { corrupt = false } = {}) {
  const byId = new Map(files.map((bytes) => [sha256(bytes), bytes]));
  const calls = [];
  async function readBlobChunk({ blob, offset, length }) {
    calls.push({ blob, offset, length });
    const bytes = byId.get(blob);
    if (!bytes) throw Object.assign(new Error("blob not found"), { code: -32001 });
    const slice = Buffer.from(bytes.subarray(offset, offset + length));
    if (corrupt && offset === 0 && slice.length > 0) slice[0] ^= 0xff;
    return { blob, offset, size: bytes.length, data: slice.toString("base64"), eof: offset + slice.length >= bytes.length };
  }
  return { readBlobChunk, calls };
}

function makeExecutor(overrides = {}) {
  const csrf = new CsrfTokenProvider({ fetch });
  return createExecutor({
    fetch,
    resolveOrigin: async (platform) => (platform === "vinted" ? server.origin : null),
    readBlobChunk: async () => {
      throw new Error("no blobs expected");
    },
    csrf,
    getAnonId: async () => "anon-42",
    timeoutMs: 5_000,
    ...overrides,
  });
}

const task = (fields) => ({ id: 7, queue_id: 3, platform: "vinted", operation: "publish", step: "s", http_method: "GET", body: "none", payload: null, attempt: 1, max_attempts: 3, ...fields });

test("JSON body, CSRF token from the page and anon id are sent; 2xx JSON is a success", async () => {
  const payload = { draft: { title: "Levi's 501", price: "27.90", ids: [1, 2] }, parcel: null };
  const result = await makeExecutor().execute(task({ http_method: "POST", path: "/api/json", body: "json", payload }));
  assert.equal(result.success, true);
  assert.equal(result.task_id, 7);
  assert.equal(result.http_status, 200);
  assert.equal(result.result.contentType, "application/json");
  assert.equal(result.result.csrf, currentToken);
  assert.equal(result.result.anon, "anon-42");
  assert.deepEqual(result.result.body, payload);
  assert.equal(result.error_kind, undefined);
});

test("lower-case method is accepted; PUT carries its JSON body", async () => {
  const result = await makeExecutor().execute(task({ http_method: "put", path: "/api/json", body: "json", payload: { a: 1 } }));
  assert.equal(result.success, true);
  assert.deepEqual(result.result, { method: "PUT", body: { a: 1 } });
});

test("body none sends no body and no content type", async () => {
  const result = await makeExecutor().execute(task({ path: "/api/plain?x=1" }));
  assert.deepEqual(result, { task_id: 7, success: true, http_status: 200, result: { length: 0, contentType: null } });
});

test("without a readable token or anon id the headers are simply left out", async () => {
  const csrf = { get: async () => null, invalidate() {} };
  const result = await makeExecutor({ csrf, getAnonId: async () => { throw new Error("no cookie access"); } }).execute(task({ http_method: "POST", path: "/api/json", body: "json", payload: {} }));
  assert.equal(result.success, true);
  assert.equal(result.result.csrf, null);
  assert.equal(result.result.anon, null);
});

test("multipart: strings and blob files arrive byte-exact, in order", async () => {
  const photo = Buffer.alloc(1_300_000);
  for (let i = 0; i < photo.length; i += 1) photo[i] = (i * 31 + 7) % 251;
  const store = blobStore([photo]);
  const payload = {
    "photo[type]": "item",
    "photo[temp_uuid]": "0b5a-uuid",
    "photo[file]": { $blob: sha256(photo), filename: "levis-1.jpg", content_type: "image/jpeg", size: photo.length },
  };
  const result = await makeExecutor({ readBlobChunk: store.readBlobChunk }).execute(task({ http_method: "POST", path: "/api/upload", body: "multipart", payload }));
  assert.equal(result.success, true, result.error_message);
  assert.deepEqual(result.result.fields, [
    { name: "photo[type]", value: "item" },
    { name: "photo[temp_uuid]", value: "0b5a-uuid" },
    { name: "photo[file]", filename: "levis-1.jpg", type: "image/jpeg", size: photo.length, sha256: sha256(photo) },
  ]);
  // 1.3 MB in 128 KiB chunks: ten reads, each within the protocol limit of 512 KiB.
  assert.deepEqual(store.calls.map((call) => call.offset), Array.from({ length: 10 }, (_, i) => i * 131072));
  assert.ok(store.calls.every((call) => call.length === 131072));
  const sent = server.requests.at(-1);
  assert.match(sent.headers["content-type"], /^multipart\/form-data; boundary=/);
  assert.ok(sent.body.includes(photo), "the raw request body contains the exact file bytes");
});

test("multipart: blobs are read the way the executor was told to", async () => {
  const photo = Buffer.alloc(1_300_000, 9);
  const store = blobStore([photo]);
  const payload = { file: { $blob: sha256(photo), filename: "a.jpg", content_type: "image/jpeg", size: photo.length } };
  const result = await makeExecutor({ readBlobChunk: store.readBlobChunk, blobReading: { chunkBytes: 524_288, window: 4 } })
    .execute(task({ http_method: "POST", path: "/api/upload", body: "multipart", payload }));
  assert.equal(result.success, true, result.error_message);
  assert.deepEqual(store.calls.map((call) => [call.offset, call.length]), [[0, 524_288], [524_288, 524_288], [1_048_576, 524_288]]);
});

test("multipart with a corrupted blob fails as blob and sends nothing", async () => {
  const photo = Buffer.from("not really a jpeg but bytes all the same");
  const store = blobStore([photo], { corrupt: true });
  const before = server.requests.length;
  const result = await makeExecutor({ readBlobChunk: store.readBlobChunk }).execute(task({
    http_method: "POST", path: "/api/upload", body: "multipart",
    payload: { file: { $blob: sha256(photo), filename: "a.jpg", content_type: "image/jpeg", size: photo.length } },
  }));
  assert.equal(result.success, false);
  assert.equal(result.error_kind, "blob");
  assert.match(result.error_message, /SHA-256/);
  assert.equal(result.http_status, undefined);
  assert.equal(server.requests.length, before);
});

test("multipart whose blob the host cannot read fails as blob", async () => {
  const store = blobStore([]);
  const before = server.requests.length;
  const result = await makeExecutor({ readBlobChunk: store.readBlobChunk }).execute(task({
    http_method: "POST", path: "/api/upload", body: "multipart",
    payload: { file: { $blob: "a".repeat(64), filename: "a.jpg", content_type: "image/jpeg", size: 3 } },
  }));
  assert.equal(result.error_kind, "blob");
  assert.match(result.error_message, /blob not found/);
  assert.equal(server.requests.length, before);
});

test("2xx with an HTML page is a challenge", async () => {
  const result = await makeExecutor().execute(task({ path: "/html-200" }));
  assert.equal(result.success, false);
  assert.equal(result.error_kind, "challenge");
  assert.equal(result.http_status, 200);
});

test("2xx with unparsable JSON is a challenge", async () => {
  const result = await makeExecutor().execute(task({ path: "/badjson" }));
  assert.equal(result.error_kind, "challenge");
  assert.equal(result.http_status, 200);
});

test("204 without a body is a success with a null result", async () => {
  const result = await makeExecutor().execute(task({ http_method: "DELETE", path: "/api/thing" }));
  assert.deepEqual(result, { task_id: 7, success: true, http_status: 204, result: null });
});

test("401 is session_expired with the JSON body, and the cached token is dropped", async () => {
  const csrf = new CsrfTokenProvider({ fetch });
  const executor = makeExecutor({ csrf });
  await executor.execute(task({ path: "/api/plain" }));
  const fetchesBefore = rootFetches;
  const result = await executor.execute(task({ path: "/expired" }));
  assert.equal(result.success, false);
  assert.equal(result.error_kind, "session_expired");
  assert.equal(result.http_status, 401);
  assert.deepEqual(result.result, { code: 100, message: "Unauthorized" });
  assert.equal(rootFetches, fetchesBefore, "a session expiry alone does not re-read the page");
  await executor.execute(task({ path: "/api/plain" }));
  assert.equal(rootFetches, fetchesBefore + 1, "the next task reads a fresh token");
});

test("401 with HTML is session_expired without a result", async () => {
  const result = await makeExecutor().execute(task({ path: "/expired-html" }));
  assert.equal(result.error_kind, "session_expired");
  assert.equal("result" in result, false);
});

test("403 with HTML or a captcha pointer is a challenge; 403 JSON is http", async () => {
  const executor = makeExecutor();
  assert.equal((await executor.execute(task({ path: "/challenge" }))).error_kind, "challenge");
  assert.equal((await executor.execute(task({ path: "/datadome" }))).error_kind, "challenge");
  const plain = await executor.execute(task({ path: "/forbidden-json" }));
  assert.equal(plain.error_kind, "http");
  assert.equal(plain.http_status, 403);
  assert.deepEqual(plain.result, { code: 99, message: "Not your item" });
});

test("429 is rate_limited with retry_after from the header, 60 s without one", async () => {
  const executor = makeExecutor();
  const limited = await executor.execute(task({ path: "/limited" }));
  assert.equal(limited.success, false);
  assert.equal(limited.error_kind, "rate_limited");
  assert.equal(limited.retry_after, 7);
  assert.equal(limited.http_status, 429);
  assert.equal((await executor.execute(task({ path: "/limited-none" }))).retry_after, 60);
  // The host refuses more than a day; a report it refuses would be lost.
  assert.equal((await executor.execute(task({ path: "/limited-long" }))).retry_after, 86400);
});

test("a redirect is not followed: the body and tokens stay on the platform, the queue pauses", async () => {
  const result = await makeExecutor().execute(task({ http_method: "POST", path: "/moved", body: "json", payload: { draft: { title: "t" } } }));
  assert.equal(redirectTargetHits, 0);
  assert.equal(result.success, false);
  assert.equal(result.error_kind, "challenge");
  assert.equal(result.http_status, 307);
  assert.match(result.error_message, /redirect/);
});

test("500 is http with a short excerpt of the body", async () => {
  const result = await makeExecutor().execute(task({ path: "/error-500" }));
  assert.equal(result.error_kind, "http");
  assert.equal(result.http_status, 500);
  assert.match(result.error_message, /^HTTP 500: Internal error x+…$/);
  assert.ok(result.error_message.length < 230);
  assert.equal("result" in result, false);
});

test("422 is http with the JSON body as result", async () => {
  const result = await makeExecutor().execute(task({ http_method: "POST", path: "/invalid", body: "json", payload: { title: "x" } }));
  assert.equal(result.error_kind, "http");
  assert.match(result.error_message, /^HTTP 422: /);
  assert.deepEqual(result.result.errors, [{ field: "title", value: "is too short" }]);
});

test("no response in time is a network failure (slow headers and slow body)", async () => {
  const executor = makeExecutor({ timeoutMs: 300 });
  for (const path of ["/slow", "/slow-body"]) {
    const started = Date.now();
    const result = await executor.execute(task({ path }));
    assert.equal(result.success, false);
    assert.equal(result.error_kind, "network");
    assert.match(result.error_message, /no response within/);
    assert.equal(result.http_status, undefined);
    assert.ok(Date.now() - started < 1_500, `${path} was not cut short`);
  }
});

test("a closed port is a network failure", async () => {
  const closed = await startServer(() => {});
  const origin = closed.origin;
  await closed.close();
  const result = await makeExecutor({ resolveOrigin: async () => origin }).execute(task({ path: "/x" }));
  assert.equal(result.error_kind, "network");
  assert.equal(result.success, false);
});

test("a rejected CSRF token is refreshed once and the request sent again", async () => {
  const csrf = new CsrfTokenProvider({ fetch });
  const executor = makeExecutor({ csrf });
  currentToken = "token-1";
  await csrf.get(server.origin); // caches token-1
  currentToken = "token-2"; // the site rotated it
  strictAttempts = 0;
  const result = await executor.execute(task({ http_method: "POST", path: "/csrf-strict", body: "json", payload: {} }));
  assert.equal(result.success, true);
  assert.deepEqual(result.result, { ok: true, token: "token-2" });
  assert.equal(strictAttempts, 2);
});

test("a CSRF complaint is retried only once", async () => {
  const before = server.requests.filter((r) => r.url === "/always-bad-csrf").length;
  const result = await makeExecutor().execute(task({ http_method: "POST", path: "/always-bad-csrf", body: "json", payload: {} }));
  assert.equal(result.error_kind, "session_expired");
  assert.equal(server.requests.filter((r) => r.url === "/always-bad-csrf").length - before, 2);
});

test("refused tasks make no request at all", async (t) => {
  const refused = [
    ["bad path", { path: "//evil.example/x" }],
    ["traversal", { path: "/api/%2e%2e/admin" }],
    ["unknown platform", { platform: "ebay", path: "/x" }],
    ["missing platform", { platform: undefined, path: "/x" }],
    ["method", { http_method: "TRACE", path: "/x" }],
    ["no method", { http_method: undefined, path: "/x" }],
    ["unknown body kind", { http_method: "POST", path: "/x", body: "xml" }],
    ["GET with a body", { http_method: "GET", path: "/x", body: "json", payload: { a: 1 } }],
    ["multipart payload not an object", { http_method: "POST", path: "/api/upload", body: "multipart", payload: ["a"] }],
    ["multipart nested object", { http_method: "POST", path: "/api/upload", body: "multipart", payload: { a: { b: 1 } } }],
  ];
  for (const [name, fields] of refused) {
    await t.test(name, async () => {
      const before = server.requests.length;
      const result = await makeExecutor().execute(task(fields));
      assert.equal(result.success, false);
      assert.equal(result.error_kind, "refused");
      assert.equal(result.task_id, 7);
      assert.equal(typeof result.error_message, "string");
      assert.equal(server.requests.length, before, "no request reached the server");
    });
  }
});

test("never throws: a broken dependency becomes an internal failure", async () => {
  const executor = makeExecutor({ resolveOrigin: async () => { throw new Error("storage exploded"); } });
  const result = await executor.execute(task({ path: "/x" }));
  assert.deepEqual(result, { task_id: 7, success: false, error_kind: "internal", error_message: "extension error: storage exploded" });
  assert.equal((await executor.execute(null)).error_kind, "refused");
});

test("multipart: with blobs.open the file comes from the loopback URL, byte-exact, without blobs.read", async () => {
  const photo = Buffer.alloc(900_000);
  for (let i = 0; i < photo.length; i += 1) photo[i] = (i * 17 + 5) % 253;
  const id = sha256(photo);
  const url = `http://127.0.0.1:45555/blobs/${id}/${"cd".repeat(32)}`;
  const fetched = [];
  const loopbackFetch = async (target, init) => {
    if (target === url) {
      fetched.push(target);
      return new Response(photo, { status: 200, headers: { "content-type": "image/jpeg" } });
    }
    return fetch(target, init);
  };
  const payload = { "photo[file]": { $blob: id, filename: "a.jpg", content_type: "image/jpeg", size: photo.length } };
  const result = await makeExecutor({
    fetch: loopbackFetch,
    openBlob: async ({ sha256: asked }) => ({ url, size: photo.length, content_type: "image/jpeg", sha256: asked }),
  }).execute(task({ http_method: "POST", path: "/api/upload", body: "multipart", payload }));
  assert.equal(result.success, true, result.error_message);
  assert.deepEqual(fetched, [url]);
  assert.deepEqual(result.result.fields, [{ name: "photo[file]", filename: "a.jpg", type: "image/jpeg", size: photo.length, sha256: id }]);
});

test("multipart: a failing blobs.open falls back to blobs.read", async () => {
  const photo = Buffer.alloc(300_000, 4);
  const store = blobStore([photo]);
  const payload = { "photo[file]": { $blob: sha256(photo), filename: "b.jpg", content_type: "image/jpeg", size: photo.length } };
  const result = await makeExecutor({
    readBlobChunk: store.readBlobChunk,
    openBlob: async () => {
      throw Object.assign(new Error("unknown method"), { code: -32601 });
    },
  }).execute(task({ http_method: "POST", path: "/api/upload", body: "multipart", payload }));
  assert.equal(result.success, true, result.error_message);
  assert.ok(store.calls.length > 0);
});
