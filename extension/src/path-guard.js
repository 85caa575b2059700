// Turns a task's `path` into a URL on the platform's origin, or refuses it.
//
// The host decides which requests run in the seller's logged-in browser; a bug or a
// tampered database must not be able to point those credentialed requests anywhere else
// (another host, a userinfo trick, a path that climbs out of the API). So the rules are
// strict and checked both on the raw string and on the URL the browser would actually use.

const MAX_PATH_LENGTH = 4096;
// C0 controls, DEL, and any Unicode whitespace (\s covers NBSP, line separators, ...).
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f\s]/u;
// Once decoded, an encoded space is legitimate data ("%20"), an encoded control char is not.
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/u;
const SCHEME_PREFIX = /^[a-z][a-z0-9+.-]*:/i;
// Percent-decoding is repeated so "%252e%252e" (double-encoded "..") is caught too.
const MAX_DECODE_ROUNDS = 3;

export class PathRefused extends Error {
  constructor(message) {
    super(message);
    this.name = "PathRefused";
  }
}

function decodeRepeatedly(text) {
  let current = text;
  // One round more than allowed, to see whether the last allowed one was the last needed.
  for (let round = 0; round <= MAX_DECODE_ROUNDS; round += 1) {
    const decoded = safeDecode(current);
    if (decoded === current) return current;
    current = decoded;
  }
  // Still changing: no platform path is encoded this many times, so do not guess what it hides.
  throw new PathRefused(`path is percent-encoded more than ${MAX_DECODE_ROUNDS} times`);
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new PathRefused("path has malformed percent-encoding");
  }
}

function checkRawPath(path) {
  if (typeof path !== "string" || path.length === 0) throw new PathRefused("path must be a non-empty string");
  if (path.length > MAX_PATH_LENGTH) throw new PathRefused("path is too long");
  if (SCHEME_PREFIX.test(path)) throw new PathRefused("path must not carry a scheme");
  if (!path.startsWith("/")) throw new PathRefused("path must start with /");
  if (path.startsWith("//")) throw new PathRefused("path must not start with //");
  if (path.includes("\\")) throw new PathRefused("path must not contain a backslash");
  if (path.includes("@")) throw new PathRefused("path must not contain @");
  if (FORBIDDEN_CHARS.test(path)) throw new PathRefused("path must not contain whitespace or control characters");
}

// What a task may carry after its path: name=value pairs, nothing that reads as more path.
const QUERY_PAIR = /^[^=&/?#]+(=[^&/?#]*)?$/;

/**
 * A fragment is never sent to the server, and a query that holds a slash reads as more path:
 * either one in a task means an id from a platform's answer cut the path short
 * ("/drafts/1#/completion" would POST to "/drafts/1"). The host encodes ids; this catches
 * what an older host or a tampered database could still send.
 */
function checkQueryAndFragment(path) {
  if (path.includes("#")) throw new PathRefused("path must not contain # (a fragment would cut it short)");
  const mark = path.indexOf("?");
  if (mark === -1) return;
  const query = path.slice(mark + 1);
  if (query === "" || !query.split("&").every((pair) => QUERY_PAIR.test(pair))) {
    throw new PathRefused("the query after ? must be name=value pairs, with no / or second ?");
  }
}

/** The path part (no query) must not hide traversal behind encoding. */
function checkDecodedSegments(path) {
  const pathPart = path.split("?", 1)[0];
  const decoded = decodeRepeatedly(pathPart);
  if (decoded.includes("\\")) throw new PathRefused("path must not contain an encoded backslash");
  if (CONTROL_CHARS.test(decoded)) throw new PathRefused("path must not contain encoded control characters");
  const segments = decoded.split("/");
  if (segments.some((segment) => segment === ".." || segment === ".")) {
    throw new PathRefused("path must not contain . or .. segments");
  }
}

/**
 * Returns the absolute URL (string) for `origin` + `path`, or throws PathRefused.
 * `origin` is trusted (it comes from the extension's own settings).
 */
export function buildTaskUrl(origin, path) {
  checkRawPath(path);
  checkQueryAndFragment(path);
  checkDecodedSegments(path);
  let url;
  try {
    url = new URL(origin + path);
  } catch {
    throw new PathRefused("path does not form a valid URL");
  }
  // Final say belongs to the URL parser: whatever the string checks missed, the request
  // must land on the platform origin with no credentials in the URL.
  if (url.origin !== origin || url.username !== "" || url.password !== "") {
    throw new PathRefused("path leaves the platform origin");
  }
  return url.href;
}

/** Non-throwing variant for callers that want a verdict object. */
export function checkTaskPath(origin, path) {
  try {
    return { ok: true, url: buildTaskUrl(origin, path) };
  } catch (error) {
    if (error instanceof PathRefused) return { ok: false, reason: error.message };
    throw error;
  }
}
