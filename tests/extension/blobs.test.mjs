// Blob assembly from blobs.read chunks: sizes, order, SHA-256, and misbehaving hosts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { assembleBlob, BlobError, base64ToBytes, isBlobRef } from "../../extension/src/blobs.js";

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

test("default chunk size is the protocol maximum of 512 KiB", async () => {
  const bytes = bytesOf(600_000);
  const { read, calls } = reader(bytes);
  await assembleBlob(refFor(bytes), read);
  assert.deepEqual(calls.map((c) => c.length), [524288, 524288]);
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

test("isBlobRef and base64ToBytes", () => {
  assert.equal(isBlobRef({ $blob: "x" }), true);
  assert.equal(isBlobRef({ blob: "x" }), false);
  assert.equal(isBlobRef(["$blob"]), false);
  assert.equal(isBlobRef(null), false);
  assert.deepEqual([...base64ToBytes("AAEC/w==")], [0, 1, 2, 255]);
});
