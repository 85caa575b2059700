// Maps an HTTP response from the platform to the `tasks.result` fields the host expects.
// Pure functions: the executor reads the response, this module decides what it means.

export const ErrorKind = Object.freeze({
  REFUSED: "refused", // the extension would not send the request (bad path, method, platform...)
  BLOB: "blob", // a file could not be read from the host or failed its size/SHA-256 check
  NETWORK: "network", // no HTTP response: offline, DNS, TLS, connection reset, timeout
  SESSION_EXPIRED: "session_expired", // 401: the seller must log in again
  CHALLENGE: "challenge", // a bot check or login page came back instead of JSON
  RATE_LIMITED: "rate_limited", // 429: wait retry_after seconds
  HTTP: "http", // any other 4xx/5xx
  INTERNAL: "internal", // a bug in the extension; reported rather than swallowed
});

export const DEFAULT_RETRY_AFTER_SECONDS = 60;
// The host refuses a longer wait (docs/protocol.md); a day is already a long pause.
export const MAX_RETRY_AFTER_SECONDS = 86400;
const EXCERPT_CHARS = 200;

/**
 * Retry-After is either delta-seconds or an HTTP date. Returns whole seconds (0 to a day), or
 * the default when the header is missing or unreadable, so the host always gets a number it
 * accepts.
 */
export function parseRetryAfter(value, now = Date.now()) {
  return Math.min(MAX_RETRY_AFTER_SECONDS, readRetryAfter(value, now));
}

function readRetryAfter(value, now) {
  if (typeof value !== "string" || value.trim() === "") return DEFAULT_RETRY_AFTER_SECONDS;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // An HTTP date always has letters (day and month names); this keeps "-5" from parsing as a year.
  if (!/[a-z]/i.test(text)) return DEFAULT_RETRY_AFTER_SECONDS;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

export function looksLikeHtml(contentType, text) {
  if (/\btext\/html\b|application\/xhtml/i.test(contentType || "")) return true;
  return /^\s*</.test(text || "");
}

/** Parses a body as JSON; `{ok:false}` when it is not JSON. An empty body is not JSON. */
export function parseJsonBody(text) {
  if (typeof text !== "string" || text.trim() === "") return { ok: false, empty: true };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, empty: false };
  }
}

/**
 * Bot-protection services answer scripted requests with an HTML page or, for XHR-style
 * requests, a small JSON pointing at a captcha page, and tag responses with a vendor header.
 */
export function looksLikeBotChallenge({ headers, text, json }) {
  if (looksLikeHtml(headers.get("content-type"), text)) return true;
  if (headers.get("x-datadome") || headers.get("x-dd-b")) return true;
  return json?.ok === true && typeof json.value?.url === "string" && /captcha/i.test(json.value.url);
}

export function excerpt(text, limit = EXCERPT_CHARS) {
  const flat = String(text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit)}…` : flat;
}

function withJson(result, json) {
  if (json.ok) result.result = json.value;
  return result;
}

function mapSuccess(status, { headers, text }, json) {
  if (json.ok) return { success: true, http_status: status, result: json.value };
  // A 204 or an empty 2xx is a real success (nothing to report), not a challenge page.
  if (json.empty && !looksLikeHtml(headers.get("content-type"), text)) {
    return { success: true, http_status: status, result: null };
  }
  const what = looksLikeHtml(headers.get("content-type"), text) ? "an HTML page" : "a body that is not JSON";
  return { success: false, http_status: status, error_kind: ErrorKind.CHALLENGE, error_message: `HTTP ${status} returned ${what} instead of JSON (bot check or login page?)` };
}

/**
 * @param {{status: number, headers: Headers, text: string}} response the platform's answer
 * @param {number} [now] for Retry-After dates
 * @returns the `tasks.result` fields except task_id
 */
export function mapHttpResponse(response, now = Date.now()) {
  const { status, headers, text } = response;
  if (response.redirected) {
    // Not followed (see executor.js): an API answering with a redirect is sending the seller to
    // a login or check page.
    const result = { success: false, error_kind: ErrorKind.CHALLENGE, error_message: "The platform answered with a redirect (login or check page?); it was not followed. Open the site in this browser." };
    if (status > 0) result.http_status = status;
    return result;
  }
  const json = parseJsonBody(text);
  if (status >= 200 && status < 300) return mapSuccess(status, response, json);
  if (status === 401) {
    return withJson({ success: false, http_status: status, error_kind: ErrorKind.SESSION_EXPIRED, error_message: "The platform session expired (HTTP 401): log in again in this browser." }, json);
  }
  if (status === 403 && looksLikeBotChallenge({ headers, text, json })) {
    return { success: false, http_status: status, error_kind: ErrorKind.CHALLENGE, error_message: "HTTP 403: blocked by a bot check; open the site in this browser and solve it." };
  }
  if (status === 429) {
    const retryAfter = parseRetryAfter(headers.get("retry-after"), now);
    return withJson({ success: false, http_status: status, error_kind: ErrorKind.RATE_LIMITED, retry_after: retryAfter, error_message: `HTTP 429: rate limited, retry after ${retryAfter} s` }, json);
  }
  return withJson({ success: false, http_status: status, error_kind: ErrorKind.HTTP, error_message: `HTTP ${status}: ${excerpt(text)}`.trimEnd() }, json);
}
