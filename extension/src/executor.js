// Executes one task the host handed out: an HTTP request on a platform's origin, made with
// the seller's browser cookies, turned into exactly one `tasks.result` params object.
//
// Deliberately generic: it knows nothing about any platform's API. The host decides method,
// path and payload; this module only guards where the request may go, builds the body,
// adds the two anti-forgery headers the platform's own web app sends, and reports.
// Every browser dependency is injected so the same code runs against a local server in tests.

import { BlobError, createBlobLoader, isBlobRef } from "./blobs.js";
import { isCsrfComplaint } from "./csrf.js";
import { ErrorKind, mapHttpResponse } from "./http-result.js";
import { defaultFetch } from "./globals.js";
import { buildTaskUrl, PathRefused } from "./path-guard.js";

export const ALLOWED_METHODS = Object.freeze(["GET", "POST", "PUT", "PATCH", "DELETE"]);
export const BODY_KINDS = Object.freeze(["json", "multipart", "none"]);
export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

class TaskRefused extends Error {}
class NetworkFailure extends Error {}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function failure(errorKind, message, extra = {}) {
  return { success: false, error_kind: errorKind, error_message: message, ...extra };
}

/** Missing `body` (older hosts): JSON when there is something to send, else nothing. */
function resolveBodyKind(task, method) {
  const hasPayload = task.payload !== undefined && task.payload !== null;
  let kind = task.body ?? (hasPayload ? "json" : "none");
  if (!BODY_KINDS.includes(kind)) throw new TaskRefused(`unknown body kind ${JSON.stringify(task.body)}`);
  if (method === "GET" && kind !== "none") {
    // fetch() cannot send a GET body; an empty JSON body is harmless to drop, anything else is a host bug.
    if (kind === "json" && !hasPayload) kind = "none";
    else throw new TaskRefused("a GET request cannot carry a body");
  }
  return kind;
}

async function planRequest(task, resolveOrigin) {
  if (!isPlainObject(task)) throw new TaskRefused("task is not an object");
  const method = typeof task.http_method === "string" ? task.http_method.toUpperCase() : "";
  if (!ALLOWED_METHODS.includes(method)) throw new TaskRefused(`HTTP method ${JSON.stringify(task.http_method)} is not allowed`);
  const origin = typeof task.platform === "string" ? await resolveOrigin(task.platform) : null;
  if (!origin) throw new TaskRefused(`unknown platform ${JSON.stringify(task.platform)}`);
  const url = buildTaskUrl(origin, task.path);
  return { method, origin, url, bodyKind: resolveBodyKind(task, method) };
}

async function appendField(form, name, value, deps) {
  if (typeof value === "string") return form.append(name, value);
  if (typeof value === "number" || typeof value === "boolean") return form.append(name, String(value));
  if (isBlobRef(value)) {
    const file = await deps.loadBlob(value);
    return form.append(name, new Blob([file.bytes], { type: file.contentType }), file.filename);
  }
  throw new TaskRefused(`multipart field ${JSON.stringify(name)} is neither a string nor a file reference`);
}

/** FormData in payload order; an array value repeats the field (e.g. several files). */
async function buildMultipart(payload, deps) {
  if (!isPlainObject(payload)) throw new TaskRefused("a multipart payload must be an object");
  const form = new FormData();
  for (const [name, value] of Object.entries(payload)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      await appendField(form, name, item, deps);
    }
  }
  return form;
}

async function buildBody(bodyKind, payload, deps) {
  if (bodyKind === "json") return { body: JSON.stringify(payload ?? null), contentType: "application/json" };
  if (bodyKind === "multipart") return { body: await buildMultipart(payload, deps), contentType: null };
  return { body: undefined, contentType: null };
}

async function readAnonId(getAnonId, origin) {
  try {
    return (await getAnonId(origin)) || null;
  } catch {
    return null;
  }
}

async function buildHeaders(origin, contentType, deps, refreshToken) {
  const [token, anonId] = await Promise.all([deps.csrf.get(origin, { refresh: refreshToken }), readAnonId(deps.getAnonId, origin)]);
  const headers = { Accept: "application/json, text/plain, */*" };
  if (contentType) headers["Content-Type"] = contentType;
  if (token) headers["X-CSRF-Token"] = token;
  if (anonId) headers["X-Anon-Id"] = anonId;
  return headers;
}

/** One HTTP exchange; the timeout covers reading the body too, since a stalled body is as bad. */
async function send(plan, body, headers, deps) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), deps.timeoutMs);
  try {
    const response = await deps.fetch(plan.url, {
      method: plan.method,
      headers,
      body,
      credentials: "include",
      cache: "no-store",
      // Following a redirect would carry the body, X-CSRF-Token and X-Anon-Id wherever it points.
      redirect: "manual",
      signal: controller.signal,
    });
    // Browsers hand back an opaque redirect (status 0); other fetch implementations the 3xx.
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
      return { status: response.status, headers: response.headers, text: "", redirected: true };
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, text };
  } catch (error) {
    const reason = controller.signal.aborted ? `no response within ${Math.round(deps.timeoutMs / 1000)} s` : error?.cause?.message || error?.message || String(error);
    throw new NetworkFailure(`${plan.method} ${new URL(plan.url).pathname} failed: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends once; if the platform rejects the CSRF token, reads a fresh one and sends once more. */
async function sendWithCsrfRefresh(plan, built, deps) {
  const headers = await buildHeaders(plan.origin, built.contentType, deps, false);
  const first = await send(plan, built.body, headers, deps);
  if (!isCsrfComplaint(first.status, first.text)) return first;
  const retryHeaders = await buildHeaders(plan.origin, built.contentType, deps, true);
  return send(plan, built.body, retryHeaders, deps);
}

async function runTask(task, deps) {
  let plan;
  let built;
  try {
    plan = await planRequest(task, deps.resolveOrigin);
    built = await buildBody(plan.bodyKind, task.payload, deps);
  } catch (error) {
    if (error instanceof TaskRefused || error instanceof PathRefused) return failure(ErrorKind.REFUSED, `refused: ${error.message}`);
    if (error instanceof BlobError) return failure(ErrorKind.BLOB, error.message);
    // blobs.read failed at the host (RPC error or timeout): the file could not be read.
    if (plan && plan.bodyKind === "multipart") return failure(ErrorKind.BLOB, `reading a file from the host failed: ${error.message}`);
    throw error;
  }
  let response;
  try {
    response = await sendWithCsrfRefresh(plan, built, deps);
  } catch (error) {
    if (error instanceof NetworkFailure) return failure(ErrorKind.NETWORK, error.message);
    throw error;
  }
  const result = mapHttpResponse(response, deps.now());
  // A new login brings a new token; never reuse the old one after the session ended.
  if (result.error_kind === ErrorKind.SESSION_EXPIRED) deps.csrf.invalidate(plan.origin);
  return result;
}

/**
 * @param {object} deps
 * @param {typeof fetch} [deps.fetch]
 * @param {(platform: string) => Promise<string|null>} deps.resolveOrigin platform → "https://host"
 * @param {(params: object) => Promise<object>} deps.readBlobChunk host `blobs.read`
 * @param {(params: {sha256}) => Promise<object>} [deps.openBlob] host `blobs.open` (the loopback
 *   fast path; without it, or when it fails, files are read with blobs.read)
 * @param {{chunkBytes: number, window: number}} [deps.blobReading] how blobs are read (blobs.js)
 * @param {{get(origin, opts): Promise<string|null>, invalidate(origin): void}} deps.csrf
 * @param {(origin: string) => Promise<string|null>} deps.getAnonId
 * @param {SubtleCrypto} [deps.subtle]
 * @param {number} [deps.timeoutMs]
 * @returns {{execute(task: object): Promise<object>}} execute never rejects
 */
export function createExecutor(deps) {
  const fullDeps = {
    fetch: defaultFetch,
    subtle: globalThis.crypto?.subtle,
    timeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
    now: Date.now,
    getAnonId: async () => null,
    ...deps,
  };
  fullDeps.loadBlob = createBlobLoader({
    openBlob: deps.openBlob,
    readBlobChunk: fullDeps.readBlobChunk,
    reading: fullDeps.blobReading,
    fetch: fullDeps.fetch,
    subtle: fullDeps.subtle,
    log: deps.log,
  });
  return {
    async execute(task) {
      const taskId = isPlainObject(task) ? task.id ?? null : null;
      try {
        return { task_id: taskId, ...(await runTask(task, fullDeps)) };
      } catch (error) {
        return { task_id: taskId, ...failure(ErrorKind.INTERNAL, `extension error: ${error?.message || String(error)}`) };
      }
    },
  };
}
