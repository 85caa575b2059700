// Blob assembly from blobs.read chunks: sizes, order, SHA-256, and misbehaving hosts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { assembleBlob, BlobError, BLOB_READ_WINDOW, base64ToBytes, blobReadingFor, isBlobRef } from "../../extension/src/blobs.js";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

function bytesOf(length) {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

/** A host-like reader; `tamper(chunk)` may alter the answer. */
function reader(bytes, tamper = (chunk) => chunk) {
  const calls = [];
  const read = async ({ blob, offset, length }) => {
    calls.push({ blob, offset, length });
    const slice = bytes.subarray(offset, offset + length);
    return tamper({ blob, offset, size: bytes.length, data: Buffer.from(slice).toString("base64"), eof: offset + slice.length >= bytes.length });
  };
  return { read, calls };
}

const refFor = (bytes, extra = {}) => ({ $blob: sha256(bytes), filename: "p.jpg", content_type: "image/jpeg", size: bytes.length, ...extra });

test("assembles a multi-chunk blob and checks it", async () => {
  const bytes = bytesOf(100_000);
  const { read, calls } = reader(bytes);
  const file = await assembleBlob(refFor(bytes), read, { chunkBytes: 32_768 });
  assert.deepEqual(Buffer.from(file.bytes), bytes);
  assert.equal(file.filename, "p.jpg");
  assert.equal(file.contentType, "image/jpeg");
  assert.deepEqual(calls.map((c) => c.offset), [0, 32768, 65536, 98304]);
  assert.ok(calls.every((c) => c.length === 32768 && c.blob === sha256(bytes)));
});

test("each browser reads in its own chunk size, within the protocol's 512 KiB", () => {
  assert.deepEqual(blobReadingFor("chrome"), { chunkBytes: 131_072, window: 8 });
  assert.deepEqual(blobReadingFor("firefox"), { chunkBytes: 524_288, window: 4 });
  assert.deepEqual(blobReadingFor("something else"), blobReadingFor("chrome"));
  assert.deepEqual(blobReadingFor("toString"), blobReadingFor("chrome"));
});

test("default chunk size: 128 KiB, well within the protocol's 512 KiB", async () => {
  const bytes = bytesOf(600_000);
  const { read, calls } = reader(bytes);
  await assembleBlob(refFor(bytes), read);
  assert.deepEqual(calls.map((c) => c.length), Array(5).fill(131072));
  assert.deepEqual(calls.map((c) => c.offset), [0, 131072, 262144, 393216, 524288]);
});

/** A reader whose answers wait until the test releases them, to see what is asked ahead. */
function heldReader(bytes) {
  const calls = [];
  const held = [];
  const read = ({ blob, offset, length }) => {
    calls.push({ blob, offset, length });
    return new Promise((resolve) => held.push(() => {
      const slice = bytes.subarray(offset, offset + length);
      resolve({ blob, offset, size: bytes.length, data: Buffer.from(slice).toString("base64"), eof: offset + slice.length >= bytes.length });
    }));
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return { read, calls, held, flush };
}

test("chunks are asked for ahead, a window at a time, and consumed in order", async () => {
  const bytes = bytesOf(10 * 1000);
  const { read, calls, held, flush } = heldReader(bytes);
  const done = assembleBlob(refFor(bytes), read, { chunkBytes: 1000, window: 4 });
  await flush();
  assert.deepEqual(calls.map((c) => c.offset), [0, 1000, 2000, 3000], "a window of four before any answer");
  // Answers out of order: the second one first. Nothing more is asked until the first arrives.
  held[1]();
  await flush();
  assert.equal(calls.length, 4);
  held[0]();
  await flush();
  assert.deepEqual(calls.map((c) => c.offset), [0, 1000, 2000, 3000, 4000, 5000]);
  for (let i = 2; i < 10; i += 1) {
    held[i]();
    await flush();
  }
  const file = await done;
  assert.deepEqual(Buffer.from(file.bytes), bytes);
  assert.deepEqual(calls.map((c) => c.offset), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000], "each chunk asked once, none past the end");
});

test("by default eight requests are in flight", async () => {
  const bytes = bytesOf(20 * 1000);
  const { read, calls, held, flush } = heldReader(bytes);
  const done = assembleBlob(refFor(bytes), read, { chunkBytes: 1000 });
  await flush();
  assert.equal(BLOB_READ_WINDOW, 8);
  assert.equal(calls.length, 8);
  for (let i = 0; i < 20; i += 1) {
    held[i]();
    await flush();
  }
  assert.deepEqual(Buffer.from((await done).bytes), bytes);
});

test("a window of one reads one chunk at a time", async () => {
  const bytes = bytesOf(3500);
  const { read, calls, held, flush } = heldReader(bytes);
  const done = assembleBlob(refFor(bytes), read, { chunkBytes: 1000, window: 1 });
  for (let i = 0; i < 4; i += 1) {
    await flush();
    assert.equal(calls.length, i + 1);
    held[i]();
  }
  assert.deepEqual(Buffer.from((await done).bytes), bytes);
});

test("without a declared size the first chunk comes alone, then the host's size sets the window", async () => {
  const bytes = bytesOf(5000);
  const { read, calls, held, flush } = heldReader(bytes);
  const done = assembleBlob(refFor(bytes, { size: undefined }), read, { chunkBytes: 1000, window: 4 });
  await flush();
  assert.equal(calls.length, 1);
  held[0]();
  await flush();
  assert.deepEqual(calls.map((c) => c.offset), [0, 1000, 2000, 3000, 4000], "then four in flight");
  for (let i = 1; i < 5; i += 1) {
    held[i]();
    await flush();
  }
  assert.deepEqual(Buffer.from((await done).bytes), bytes);
  assert.equal(calls.length, 5);
});

test("a short chunk drops what was asked ahead and reading goes on from where it ended", async () => {
  const bytes = bytesOf(5000);
  const { read, calls } = reader(bytes);
  // The host answers the second chunk short (as a host with a smaller limit might).
  const short = async (params) => {
    const chunk = await read(params);
    if (params.offset !== 1000) return chunk;
    const data = Buffer.from(Buffer.from(chunk.data, "base64").subarray(0, 300)).toString("base64");
    return { ...chunk, data, eof: false };
  };
  const file = await assembleBlob(refFor(bytes), short, { chunkBytes: 1000 });
  assert.deepEqual(Buffer.from(file.bytes), bytes);
  const offsets = calls.map((c) => c.offset);
  assert.deepEqual(offsets.slice(0, 4), [0, 1000, 2000, 3000]);
  assert.ok(offsets.includes(1300), `reading resumed at 1300: ${offsets}`);
  assert.equal(offsets.at(-1) + 1000 >= bytes.length, true);
});

test("an empty file works", async () => {
  const bytes = Buffer.alloc(0);
  const file = await assembleBlob(refFor(bytes), reader(bytes).read);
  assert.equal(file.bytes.length, 0);
});

test("an upper-case id is normalised before reading", async () => {
  const bytes = bytesOf(10);
  const { read, calls } = reader(bytes);
  await assembleBlob(refFor(bytes, { $blob: sha256(bytes).toUpperCase() }), read);
  assert.equal(calls[0].blob, sha256(bytes));
});

test("defaults for a missing filename and content type", async () => {
  const bytes = bytesOf(5);
  const file = await assembleBlob({ $blob: sha256(bytes), size: 5 }, reader(bytes).read);
  assert.equal(file.filename, "file");
  assert.equal(file.contentType, "application/octet-stream");
});

const FAILURES = [
  ["SHA-256 mismatch", (bytes) => [refFor(bytes, { $blob: sha256(Buffer.from("other")) }), reader(bytes).read], /SHA-256|bytes, expected|larger/],
  ["flipped byte", (bytes) => [refFor(bytes), reader(bytes, (c) => ({ ...c, data: Buffer.from(Buffer.from(c.data, "base64").map((b, i) => (i === 0 ? b ^ 1 : b))).toString("base64") })).read], /SHA-256/],
  ["declared size too small", (bytes) => [refFor(bytes, { size: bytes.length - 1 }), reader(bytes).read], /larger than|expected/],
  ["declared size too large", (bytes) => [refFor(bytes, { size: bytes.length + 1 }), reader(bytes).read], /expected/],
  ["host size disagrees", (bytes) => [refFor(bytes, { size: undefined }), reader(bytes, (c) => ({ ...c, size: c.size + 5 })).read], /expected/],
  ["early eof", (bytes) => [refFor(bytes), reader(bytes, (c) => ({ ...c, eof: true })).read], /expected/],
  ["no progress", (bytes) => [refFor(bytes), reader(bytes, (c) => (c.offset > 0 ? { ...c, data: "", eof: false } : c)).read], /no progress/],
  ["wrong offset", (bytes) => [refFor(bytes), reader(bytes, (c) => ({ ...c, offset: c.offset + 1 })).read], /offset/],
  ["bad base64", (bytes) => [refFor(bytes), reader(bytes, (c) => ({ ...c, data: "!!!" })).read], /base64/],
  ["missing data", (bytes) => [refFor(bytes), reader(bytes, (c) => ({ ...c, data: undefined })).read], /no data/],
  ["null answer", (bytes) => [refFor(bytes), async () => null], /no chunk/],
  ["bad id", (bytes) => [refFor(bytes, { $blob: "../../etc/passwd" }), reader(bytes).read], /SHA-256 id/],
  ["negative size", (bytes) => [refFor(bytes, { size: -1 }), reader(bytes).read], /invalid size/],
  ["oversized chunk", (bytes) => [refFor(bytes), reader(bytes, (c) => ({ ...c, data: Buffer.alloc(70_000).toString("base64") })).read], /more than requested/],
];

test("every inconsistency is a BlobError", async (t) => {
  for (const [name, setup, message] of FAILURES) {
    await t.test(name, async () => {
      const bytes = bytesOf(70_000);
      const [ref, read] = setup(bytes);
      await assert.rejects(assembleBlob(ref, read, { chunkBytes: 65_536 }), (error) => error instanceof BlobError && message.test(error.message));
    });
  }
});

test("a reader error propagates unchanged (the executor maps it to blob)", async () => {
  const bytes = bytesOf(10);
  await assert.rejects(assembleBlob(refFor(bytes), async () => { throw new Error("host gone"); }), /host gone/);
});

test("a failure ahead of the reading is reported when its turn comes; dropped ones are not", async () => {
  const bytes = bytesOf(5000);
  const { read } = reader(bytes);
  const failing = (bad) => async (params) => {
    if (params.offset === bad) throw new Error(`host gone at ${bad}`);
    return read(params);
  };
  await assert.rejects(assembleBlob(refFor(bytes), failing(2000), { chunkBytes: 1000 }), /host gone at 2000/);
  // Chunk 1000 is refused first: the request for 2000, asked ahead, fails unobserved.
  const broken = async (params) => (params.offset === 1000 ? { ...(await read(params)), data: "!!!" } : failing(2000)(params));
  await assert.rejects(assembleBlob(refFor(bytes), broken, { chunkBytes: 1000 }), /invalid base64/);
  await new Promise((resolve) => setTimeout(resolve, 10)); // an unhandled rejection would fail the run
});

test("isBlobRef and base64ToBytes", () => {
  assert.equal(isBlobRef({ $blob: "x" }), true);
  assert.equal(isBlobRef({ blob: "x" }), false);
  assert.equal(isBlobRef(["$blob"]), false);
  assert.equal(isBlobRef(null), false);
  assert.deepEqual([...base64ToBytes("AAEC/w==")], [0, 1, 2, 255]);
});

// Browsers with Uint8Array.fromBase64 (Chrome 140+, Firefox 133+) decode with it; node 20 and
// older browsers take atob. Both decoders give the same bytes and the same error.
test("base64ToBytes: the native decoder and the fallback agree", () => {
  const nativeLike = (text) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/[\t\n\f\r ]/g, ""))) throw new SyntaxError("bad base64");
    return new Uint8Array(Buffer.from(text, "base64"));
  };
  const fallback = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const bytes = bytesOf(1000);
  for (const decode of [nativeLike, fallback]) {
    assert.deepEqual(Buffer.from(base64ToBytes(bytes.toString("base64"), decode)), bytes);
    assert.deepEqual([...base64ToBytes("AAEC/w==", decode)], [0, 1, 2, 255]);
    assert.throws(() => base64ToBytes("!!!", decode), (error) => error instanceof BlobError && /invalid base64/.test(error.message));
  }
  if (typeof Uint8Array.fromBase64 === "function") {
    assert.deepEqual(Buffer.from(base64ToBytes(bytes.toString("base64"), (t) => Uint8Array.fromBase64(t))), bytes);
  }
});
