// Small HTTP helpers shared by the fake site, its control API and its proxy.
//
// Handlers build plain response objects ({status, headers, body, cookies}) instead of writing to
// the socket themselves: the fault layer can then delay, replace or drop a response after the
// action behind it has been performed.

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** Reads a whole request body, refusing more than `maxBytes` (HttpError 413). */
export function readBody(req, maxBytes) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume(); // Keep draining so the 413 can still be written.
        reject(new HttpError(413, `request body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** Parses a Cookie header into {name: value}; the first occurrence of a name wins, as in
 * browsers, which send the most specific cookie first. */
export function parseCookies(header) {
  const cookies = {};
  for (const pair of String(header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!(name in cookies)) cookies[name] = pair.slice(eq + 1).trim();
  }
  return cookies;
}

/** A Set-Cookie value. `attrs` uses the usual attribute names (Path, Max-Age, HttpOnly, ...). */
export function serializeCookie(name, value, attrs = {}) {
  const pieces = [`${name}=${value}`];
  for (const [key, attr] of Object.entries(attrs)) {
    if (attr === true) pieces.push(key);
    else if (attr !== false && attr !== undefined && attr !== null) pieces.push(`${key}=${attr}`);
  }
  return pieces.join('; ');
}

export function jsonResponse(status, body, headers = {}) {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

export function htmlResponse(status, html, headers = {}) {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', ...headers }, body: html };
}

export function redirectResponse(location, status = 302) {
  return { status, headers: { location }, body: '' };
}

/** Writes a response object built by a handler. */
export function sendResponse(res, response) {
  const headers = { ...(response.headers ?? {}) };
  if (response.cookies?.length) headers['set-cookie'] = response.cookies;
  const body = response.body ?? '';
  headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(response.status, headers);
  res.end(body);
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses a JSON request body, or returns {error} with a reason a 400 can carry. */
export function parseJsonBody(contentType, body) {
  if (!/^application\/json\b/i.test(String(contentType ?? ''))) {
    return { error: `expected Content-Type application/json, got ${JSON.stringify(contentType ?? null)}` };
  }
  try {
    return { value: JSON.parse(body.toString('utf8')) };
  } catch (error) {
    return { error: `invalid JSON: ${error.message}` };
  }
}
