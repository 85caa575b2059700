// Assembles a file the host stores (images for multipart uploads) from `blobs.read` chunks.
//
// Native messaging caps host→browser messages at 1 MiB, so files arrive base64-encoded in
// chunks of at most 512 KiB. The blob id is the SHA-256 of the content: checking it (and the
// size) before uploading means a truncated or mixed-up read can never reach the platform.

export const BLOB_CHUNK_BYTES = 524_288;
// A generous ceiling so a corrupt size field cannot make us allocate without bound.
export const MAX_BLOB_BYTES = 64 * 1024 * 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class BlobError extends Error {
  constructor(message) {
    super(message);
    this.name = "BlobError";
  }
}

/** Whether a payload value is a file reference rather than a plain field. */
export function isBlobRef(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, "$blob");
}

export function base64ToBytes(text) {
  let binary;
  try {
    binary = atob(text);
  } catch {
    throw new BlobError("blobs.read returned invalid base64");
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesToHex(buffer) {
  return Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(bytes, subtle = globalThis.crypto.subtle) {
  return bytesToHex(await subtle.digest("SHA-256", bytes));
}

function validateRef(ref) {
  const id = typeof ref.$blob === "string" ? ref.$blob.toLowerCase() : "";
  if (!SHA256_HEX.test(id)) throw new BlobError("file reference has no valid SHA-256 id");
  const { size } = ref;
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0 && size <= MAX_BLOB_BYTES)) {
    throw new BlobError(`file reference ${id} has an invalid size`);
  }
  return { id, expectedSize: size };
}

function checkChunk(chunk, id, offset) {
  if (chunk === null || typeof chunk !== "object") throw new BlobError(`blobs.read returned no chunk for ${id}`);
  if (chunk.offset !== undefined && chunk.offset !== offset) {
    throw new BlobError(`blobs.read returned offset ${chunk.offset}, expected ${offset}`);
  }
  if (typeof chunk.data !== "string") throw new BlobError("blobs.read returned no data");
}

function concat(parts, total) {
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

async function readAllChunks(id, expectedSize, readChunk, chunkBytes) {
  const parts = [];
  let offset = 0;
  let reportedSize;
  for (;;) {
    const chunk = await readChunk({ blob: id, offset, length: chunkBytes });
    checkChunk(chunk, id, offset);
    const bytes = base64ToBytes(chunk.data);
    if (bytes.length > chunkBytes) throw new BlobError("blobs.read returned more than requested");
    parts.push(bytes);
    offset += bytes.length;
    if (Number.isSafeInteger(chunk.size)) reportedSize = chunk.size;
    const limit = expectedSize ?? reportedSize ?? MAX_BLOB_BYTES;
    if (offset > limit) throw new BlobError(`blob ${id} is larger than its declared ${limit} bytes`);
    if (chunk.eof) break;
    // Without this a host that keeps answering empty chunks would loop forever.
    if (bytes.length === 0) throw new BlobError("blobs.read made no progress before eof");
  }
  return { bytes: concat(parts, offset), reportedSize };
}

/**
 * Reads a whole blob and verifies it.
 * @param {object} ref `{$blob, filename, content_type, size}` from the task payload
 * @param {(params: {blob, offset, length}) => Promise<object>} readChunk calls host `blobs.read`
 * @returns {Promise<{bytes: Uint8Array, filename: string, contentType: string}>}
 */
export async function assembleBlob(ref, readChunk, { chunkBytes = BLOB_CHUNK_BYTES, subtle = globalThis.crypto.subtle } = {}) {
  const { id, expectedSize } = validateRef(ref);
  const { bytes, reportedSize } = await readAllChunks(id, expectedSize, readChunk, chunkBytes);
  for (const size of [expectedSize, reportedSize]) {
    if (size !== undefined && size !== bytes.length) {
      throw new BlobError(`blob ${id} has ${bytes.length} bytes, expected ${size}`);
    }
  }
  const digest = await sha256Hex(bytes, subtle);
  if (digest !== id) throw new BlobError(`blob ${id} failed its SHA-256 check (got ${digest})`);
  return {
    bytes,
    filename: typeof ref.filename === "string" && ref.filename ? ref.filename : "file",
    contentType: typeof ref.content_type === "string" && ref.content_type ? ref.content_type : "application/octet-stream",
  };
}
