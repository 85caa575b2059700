// A small, binary-safe multipart/form-data parser (RFC 7578 over RFC 2046).
//
// The fake must see photo bytes exactly as the extension sent them, so nothing here decodes or
// normalises file content: parts are slices of the request body. Structural mistakes (no closing
// delimiter, missing Content-Disposition, ...) raise MultipartError, which the site turns into a
// 400 so a sender bug shows up as a failed request rather than as a silently wrong photo.

import { createHash } from 'node:crypto';

export class MultipartError extends Error {
  constructor(message) {
    super(message);
    this.name = 'MultipartError';
  }
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Parses a header value of the form `type; a=1; b="quoted; value"`.
 * @returns {{value: string, params: Record<string, string>}} value and parameter names lower-cased
 */
export function parseHeaderValue(header) {
  const pieces = splitOutsideQuotes(String(header ?? ''), ';');
  const value = (pieces.shift() ?? '').trim().toLowerCase();
  const params = {};
  for (const piece of pieces) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    params[name] = unquote(piece.slice(eq + 1).trim());
  }
  return { value, params };
}

/** The boundary of a `multipart/form-data` Content-Type, or a MultipartError. */
export function boundaryFromContentType(contentType) {
  const { value, params } = parseHeaderValue(contentType);
  if (value !== 'multipart/form-data') {
    throw new MultipartError(`expected multipart/form-data, got ${JSON.stringify(value || '')}`);
  }
  const boundary = params.boundary;
  // RFC 2046: 1 to 70 characters, not ending with a space.
  if (!boundary || boundary.length > 70 || boundary.endsWith(' ')) {
    throw new MultipartError('missing or invalid multipart boundary');
  }
  return boundary;
}

/**
 * Splits a multipart body into parts.
 * @param {Buffer} body
 * @param {string} boundary
 * @returns {{name: string, filename: string|null, contentType: string|null,
 *            headers: Record<string,string>, data: Buffer}[]}
 */
export function parseMultipart(body, boundary) {
  const dashBoundary = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.concat([CRLF, dashBoundary]);
  let pos = firstBoundaryEnd(body, dashBoundary, delimiter);
  const parts = [];
  for (;;) {
    if (body[pos] === DASH && body[pos + 1] === DASH) return parts; // Close delimiter; epilogue ignored.
    pos = skipTransportPadding(body, pos);
    const { headers, contentStart } = readPartHeaders(body, pos);
    const contentEnd = findDelimiter(body, delimiter, contentStart);
    parts.push(describePart(headers, body.subarray(contentStart, contentEnd)));
    pos = contentEnd + delimiter.length;
  }
}

/** Parses a form-data body into fields and files (the shape the fake records). */
export function parseFormData(body, contentType) {
  const parts = parseMultipart(body, boundaryFromContentType(contentType));
  const fields = {};
  const files = [];
  for (const part of parts) {
    if (part.filename !== null) {
      files.push({
        field: part.name,
        filename: part.filename,
        contentType: part.contentType,
        size: part.data.length,
        sha256: createHash('sha256').update(part.data).digest('hex'),
        // A copy, so the record does not pin the whole request buffer.
        bytes: Buffer.from(part.data),
      });
    } else {
      // A repeated field keeps its last value; `parts` order is still visible through files.
      fields[part.name] = part.data.toString('utf8');
    }
  }
  return { fields, files };
}

// The body may start with the dash-boundary directly, or with a preamble ended by CRLF.
function firstBoundaryEnd(body, dashBoundary, delimiter) {
  if (body.subarray(0, dashBoundary.length).equals(dashBoundary)) return dashBoundary.length;
  const at = body.indexOf(delimiter);
  if (at < 0) throw new MultipartError('multipart boundary not found in body');
  return at + delimiter.length;
}

// After a boundary: optional spaces or tabs, then CRLF.
function skipTransportPadding(body, pos) {
  let at = pos;
  while (body[at] === SPACE || body[at] === TAB) at += 1;
  if (body[at] !== 0x0d || body[at + 1] !== 0x0a) {
    throw new MultipartError('malformed multipart boundary line');
  }
  return at + 2;
}

function readPartHeaders(body, pos) {
  // A part without headers starts its content right after the boundary line.
  if (body[pos] === 0x0d && body[pos + 1] === 0x0a) return { headers: {}, contentStart: pos + 2 };
  const end = body.indexOf(HEADER_END, pos);
  if (end < 0) throw new MultipartError('unterminated multipart part headers');
  return { headers: parseHeaderLines(body.toString('utf8', pos, end)), contentStart: end + 4 };
}

function parseHeaderLines(text) {
  const headers = {};
  let last = null;
  for (const line of text.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      headers[last] += ` ${line.trim()}`; // Obsolete line folding.
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`malformed multipart header line ${JSON.stringify(line)}`);
    last = line.slice(0, colon).trim().toLowerCase();
    headers[last] = line.slice(colon + 1).trim();
  }
  return headers;
}

// The next CRLF--boundary that is really a delimiter, i.e. followed by "--", padding or CRLF.
// Checking the follower keeps a content line that merely starts with the boundary text intact.
function findDelimiter(body, delimiter, from) {
  for (let at = body.indexOf(delimiter, from); at >= 0; at = body.indexOf(delimiter, at + 1)) {
    const next = body[at + delimiter.length];
    const isClose = next === DASH && body[at + delimiter.length + 1] === DASH;
    if (isClose || next === 0x0d || next === SPACE || next === TAB) return at;
  }
  throw new MultipartError('multipart body has no closing boundary (truncated?)');
}

function describePart(headers, data) {
  const disposition = headers['content-disposition'];
  if (!disposition) throw new MultipartError('multipart part without Content-Disposition');
  const { value, params } = parseHeaderValue(disposition);
  if (value !== 'form-data' || params.name === undefined) {
    throw new MultipartError(`unexpected Content-Disposition ${JSON.stringify(disposition)}`);
  }
  let filename = params.filename ?? null;
  if (params['filename*'] !== undefined) filename = decodeExtValue(params['filename*']);
  return {
    name: params.name,
    filename,
    contentType: headers['content-type'] ?? null,
    headers,
    data,
  };
}

// RFC 5987 ext-value: charset'language'percent-encoded.
function decodeExtValue(value) {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) return value;
  try {
    return decodeURIComponent(match[2]);
  } catch {
    throw new MultipartError(`invalid filename* value ${JSON.stringify(value)}`);
  }
}

function splitOutsideQuotes(text, separator) {
  const pieces = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted && ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i += 1;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === separator && !quoted) {
      pieces.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  pieces.push(current);
  return pieces;
}

function unquote(value) {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}
