// Assembles a file the host stores (images for multipart uploads) from `blobs.read` chunks.
//
// Native messaging caps host→browser messages at 1 MiB, so files arrive base64-encoded in
// chunks (the protocol allows up to 512 KiB). The blob id is the SHA-256 of the content:
// checking it (and the size) before uploading means a truncated or mixed-up read can never
// reach the platform.
//
// Speed: the browser reads a native host's pipe slowly (Chrome: 4 KiB per read), so the reads
// are pipelined: once the size is known, the next chunks are asked for before the current one
// has arrived (at most `window` requests in flight), and the host answers them back to back.
// They are consumed strictly in order, exactly as a one-at-a-time reader would: a chunk that is
// not what was assumed (short, past the end) drops the requests made ahead, and the reading goes
// on from where that chunk ended.
//
// The chunk size suits the browser, as measured with 8 MiB photos (docs/benchmarks.md, "Photos
// through the browser"): Chrome's cost per native message grows faster than the message, and 128 KiB chunks
// came in a fifth sooner than 512 KiB ones (768 KiB ones later still); Firefox reads the pipe in
// large pieces and pays per message, and 512 KiB, the protocol's maximum, beat 128 KiB by a third.
export const BLOB_READING = Object.freeze({
  chrome: Object.freeze({ chunkBytes: 131_072, window: 8 }),
  firefox: Object.freeze({ chunkBytes: 524_288, window: 4 }),
});
export const BLOB_CHUNK_BYTES = BLOB_READING.chrome.chunkBytes;
export const BLOB_READ_WINDOW = BLOB_READING.chrome.window;

/** How to read blobs in `browser` ("chrome" or "firefox", as detectBrowser names them). */
export function blobReadingFor(browser) {
  return Object.hasOwn(BLOB_READING, browser) ? BLOB_READING[browser] : BLOB_READING.chrome;
}

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

// Chrome 140+, Firefox 133+ (and Safari 18.2+) decode natively, about ten times faster than
// atob and a loop; older browsers take the fallback.
const nativeFromBase64 = typeof Uint8Array.fromBase64 === "function" ? (text) => Uint8Array.fromBase64(text) : null;

function atobToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function base64ToBytes(text, decode = nativeFromBase64 ?? atobToBytes) {
  try {
    return decode(text);
  } catch {
    throw new BlobError("blobs.read returned invalid base64");
  }
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

/**
 * The chunks of one blob in order, each asked for up to `window - 1` chunks ahead once the size
 * is known. `next(offset)` resolves the chunk at `offset`; an offset other than the one assumed
 * drops what was asked ahead (it is answered and ignored).
 */
class ChunkReader {
  constructor(id, readChunk, chunkBytes, window) {
    Object.assign(this, { id, readChunk, chunkBytes, window });
    this.ahead = new Map(); // offset → promise of its chunk
  }

  ask(offset) {
    return this.readChunk({ blob: this.id, offset, length: this.chunkBytes });
  }

  next(offset, size) {
    let pending = this.ahead.get(offset);
    if (pending) {
      this.ahead.delete(offset);
    } else {
      this.ahead.clear();
      pending = this.ask(offset);
    }
    if (size !== undefined) {
      let at = offset + this.chunkBytes;
      for (const asked of this.ahead.keys()) at = Math.max(at, asked + this.chunkBytes);
      for (; at < size && this.ahead.size < this.window - 1; at += this.chunkBytes) {
        const ahead = this.ask(at);
        ahead.catch(() => {}); // if dropped, nobody awaits it
        this.ahead.set(at, ahead);
      }
    }
    return pending;
  }
}

async function readAllChunks(id, expectedSize, readChunk, chunkBytes, window) {
  const reader = new ChunkReader(id, readChunk, chunkBytes, window);
  // With the size known the bytes go straight to their place; otherwise they are joined at the end.
  const whole = expectedSize !== undefined ? new Uint8Array(expectedSize) : null;
  const parts = [];
  let offset = 0;
  let reportedSize;
  for (;;) {
    const chunk = await reader.next(offset, expectedSize ?? reportedSize);
    checkChunk(chunk, id, offset);
    const bytes = base64ToBytes(chunk.data);
    if (bytes.length > chunkBytes) throw new BlobError("blobs.read returned more than requested");
    if (Number.isSafeInteger(chunk.size)) reportedSize = chunk.size;
    const limit = expectedSize ?? reportedSize ?? MAX_BLOB_BYTES;
    if (offset + bytes.length > limit) throw new BlobError(`blob ${id} is larger than its declared ${limit} bytes`);
    if (whole) whole.set(bytes, offset);
    else parts.push(bytes);
    offset += bytes.length;
    if (chunk.eof) break;
    // Without this a host that keeps answering empty chunks would loop forever.
    if (bytes.length === 0) throw new BlobError("blobs.read made no progress before eof");
  }
  const bytes = whole ? (offset === whole.length ? whole : whole.subarray(0, offset)) : concat(parts, offset);
  return { bytes, reportedSize };
}

/**
 * Reads a whole blob and verifies it.
 * @param {object} ref `{$blob, filename, content_type, size}` from the task payload
 * @param {(params: {blob, offset, length}) => Promise<object>} readChunk calls host `blobs.read`
 * @param {object} [options] `chunkBytes` per request, `window` requests in flight at most
 * @returns {Promise<{bytes: Uint8Array, filename: string, contentType: string}>}
 */
export async function assembleBlob(ref, readChunk, { chunkBytes = BLOB_CHUNK_BYTES, window = BLOB_READ_WINDOW, subtle = globalThis.crypto.subtle } = {}) {
  const { id, expectedSize } = validateRef(ref);
  const { bytes, reportedSize } = await readAllChunks(id, expectedSize, readChunk, chunkBytes, Math.max(1, window));
  return verifiedBlob(ref, id, bytes, [expectedSize, reportedSize], subtle);
}

// The bytes of `ref` once their size matches every size announced for them and their SHA-256 is
// the blob's id, with the file name and type the upload needs.
async function verifiedBlob(ref, id, bytes, announcedSizes, subtle) {
  for (const size of announcedSizes) {
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

// The loopback fast path (docs/protocol.md, `blobs.open`): the host serves the photo on
// 127.0.0.1 under a short-lived unguessable URL, and the bytes skip the native-messaging pipe
// (read 4 KiB at a time by Chrome) and base64. Any failure there leaves blobs.read to do it.
export const BLOB_FETCH_TIMEOUT_MS = 15_000;
const LOOPBACK_URL = /^http:\/\/127\.0\.0\.1:\d{1,5}\/blobs\/[0-9a-f]{64}\/[0-9a-f]{64}$/;

/**
 * Fetches a whole blob through `blobs.open` and verifies it like assembleBlob.
 * @param {object} ref `{$blob, filename, content_type, size}`
 * @param {(params: {sha256}) => Promise<object>} openBlob calls host `blobs.open`
 * @param {object} options `fetch`, `subtle`, `timeoutMs`
 * Throws (BlobError or the RPC/fetch error) on anything unexpected.
 */
export async function fetchBlob(ref, openBlob, { fetch: fetchFn = globalThis.fetch, subtle = globalThis.crypto.subtle, timeoutMs = BLOB_FETCH_TIMEOUT_MS } = {}) {
  const { id, expectedSize } = validateRef(ref);
  const opened = await openBlob({ sha256: id });
  if (opened === null || typeof opened !== "object" || typeof opened.url !== "string" || !LOOPBACK_URL.test(opened.url)) {
    throw new BlobError("blobs.open returned no loopback URL");
  }
  if (opened.sha256 !== undefined && opened.sha256 !== id) throw new BlobError("blobs.open answered for another blob");
  const signal = typeof AbortSignal.timeout === "function" ? AbortSignal.timeout(timeoutMs) : undefined;
  const response = await fetchFn(opened.url, { method: "GET", credentials: "omit", cache: "no-store", redirect: "error", signal });
  if (!response.ok) throw new BlobError(`the loopback answered HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  return verifiedBlob(ref, id, bytes, [expectedSize, opened.size], subtle);
}

const METHOD_NOT_FOUND = -32601;

/**
 * A blob loader: `blobs.open` + fetch when the host has it, else (and after any failure of it)
 * `blobs.read`. A host without blobs.open (method not found) is not asked again.
 */
export function createBlobLoader({ openBlob, readBlobChunk, reading = {}, fetch: fetchFn, subtle = globalThis.crypto?.subtle, log = null }) {
  let loopback = typeof openBlob === "function";
  return async function loadBlob(ref) {
    if (loopback) {
      try {
        return await fetchBlob(ref, openBlob, { fetch: fetchFn, subtle });
      } catch (error) {
        if (error?.code === METHOD_NOT_FOUND) loopback = false;
        log?.warn?.("photo fast path failed, reading through blobs.read", error?.message);
      }
    }
    return assembleBlob(ref, readBlobChunk, { ...reading, subtle });
  };
}
