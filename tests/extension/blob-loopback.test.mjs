// The blobs.open fast path (fetch from the host's 127.0.0.1 listener) and each fallback to blobs.read.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { BlobError, createBlobLoader, fetchBlob } from "../../extension/src/blobs.js";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13 + 1) & 0xff));
const id = sha256(bytes);
const ref = { $blob: id, filename: "p.jpg", content_type: "image/jpeg", size: bytes.length };
const url = `http://127.0.0.1:40123/blobs/${id}/${"ab".repeat(32)}`;

function host({ open = async () => ({ url, size: bytes.length, content_type: "image/jpeg", sha256: id, expires_at: "x" }), body = bytes, status = 200, fetchError = null } = {}) {
  const calls = { open: 0, fetch: [], read: 0 };
  return {
    calls,
    openBlob: async (params) => {
      calls.open += 1;
      assert.deepEqual(params, { sha256: id });
      return open(params);
    },
    fetch: async (target, init) => {
      calls.fetch.push({ target, init });
      if (fetchError) throw fetchError;
      return new Response(status === 200 ? body : null, { status });
    },
    readBlobChunk: async ({ offset, length }) => {
      calls.read += 1;
      const slice = bytes.subarray(offset, offset + length);
      return { offset, size: bytes.length, data: slice.toString("base64"), eof: offset + slice.length >= bytes.length };
    },
  };
}

const loaderFor = (h) => createBlobLoader({ openBlob: h.openBlob, readBlobChunk: h.readBlobChunk, fetch: h.fetch });

test("the fast path: blobs.open then one fetch, no blobs.read", async () => {
  const h = host();
  const file = await loaderFor(h)(ref);
  assert.deepEqual(Buffer.from(file.bytes), bytes);
  assert.equal(file.contentType, "image/jpeg");
  assert.equal(h.calls.open, 1);
  assert.equal(h.calls.read, 0);
  assert.equal(h.calls.fetch[0].target, url);
  assert.equal(h.calls.fetch[0].init.credentials, "omit");
});

test("a host without blobs.open: blobs.read, and blobs.open is not asked again", async () => {
  const h = host({ open: async () => { throw Object.assign(new Error("unknown method"), { code: -32601 }); } });
  const load = loaderFor(h);
  for (let i = 0; i < 2; i += 1) assert.deepEqual(Buffer.from((await load(ref)).bytes), bytes);
  assert.equal(h.calls.open, 1);
  assert.ok(h.calls.read > 0);
  assert.equal(h.calls.fetch.length, 0);
});

test("another blobs.open error (not found): blobs.read, and the fast path is tried next time", async () => {
  const h = host({ open: async () => { throw Object.assign(new Error("not found"), { code: -32000 }); } });
  const load = loaderFor(h);
  await load(ref);
  await load(ref);
  assert.equal(h.calls.open, 2);
  assert.ok(h.calls.read > 0);
});

test("a fetch failure (connection refused, CORS): blobs.read", async () => {
  const h = host({ fetchError: new TypeError("Failed to fetch") });
  assert.deepEqual(Buffer.from((await loaderFor(h)(ref)).bytes), bytes);
  assert.equal(h.calls.fetch.length, 1);
  assert.ok(h.calls.read > 0);
});

test("an HTTP error (expired token: 403): blobs.read", async () => {
  const h = host({ status: 403 });
  assert.deepEqual(Buffer.from((await loaderFor(h)(ref)).bytes), bytes);
  assert.ok(h.calls.read > 0);
});

test("a size mismatch (truncated body): blobs.read", async () => {
  const h = host({ body: bytes.subarray(0, 1000) });
  assert.deepEqual(Buffer.from((await loaderFor(h)(ref)).bytes), bytes);
  assert.ok(h.calls.read > 0);
});

test("a hash mismatch (same size, other bytes): blobs.read", async () => {
  const other = Buffer.from(bytes);
  other[5] ^= 1;
  const h = host({ body: other });
  assert.deepEqual(Buffer.from((await loaderFor(h)(ref)).bytes), bytes);
  assert.ok(h.calls.read > 0);
});

test("a URL that is not the loopback's is never fetched", async () => {
  for (const bad of [`http://evil.example/blobs/${id}/${"ab".repeat(32)}`, `https://127.0.0.1:1/blobs/${id}/x`, null]) {
    const h = host({ open: async () => ({ url: bad, size: bytes.length }) });
    await assert.rejects(fetchBlob(ref, h.openBlob, { fetch: h.fetch }), BlobError);
    assert.equal(h.calls.fetch.length, 0);
    assert.deepEqual(Buffer.from((await loaderFor(h)(ref)).bytes), bytes);
  }
});

test("without openBlob only blobs.read is used", async () => {
  const h = host();
  const file = await createBlobLoader({ readBlobChunk: h.readBlobChunk, fetch: h.fetch })(ref);
  assert.deepEqual(Buffer.from(file.bytes), bytes);
  assert.equal(h.calls.open, 0);
  assert.equal(h.calls.fetch.length, 0);
});

test("a fetch error is not hidden when blobs.read fails too", async () => {
  const h = host({ fetchError: new TypeError("Failed to fetch") });
  const load = createBlobLoader({ openBlob: h.openBlob, readBlobChunk: async () => { throw new Error("host gone"); }, fetch: h.fetch });
  await assert.rejects(load(ref), /host gone/);
});
