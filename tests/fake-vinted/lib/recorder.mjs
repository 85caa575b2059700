// Keeps every request the fake site receives, in arrival order, for tests to assert on.
//
// A record is created when the request line arrives (so `seq` is arrival order even when bodies
// finish in another order) and completed with the parsed body and the final status.

import { parseJsonBody } from './http-util.mjs';
import { parseFormData } from './multipart.mjs';

const MAX_TEXT = 64 * 1024;

/** Wall-clock time in milliseconds with sub-millisecond precision (epoch based, like Date.now()). */
export const preciseNow = () => performance.timeOrigin + performance.now();

export class Recorder {
  #records = [];
  #nextSeq = 1;

  start(req, url) {
    const record = {
      seq: this.#nextSeq,
      at: Date.now(),
      startedAt: preciseNow(), // the request line and headers arrived
      receivedAt: null, // the last byte of the body arrived (benchmarks time uploads with it)
      method: req.method,
      path: req.url,
      pathname: url.pathname,
      headers: { ...req.headers },
      bodySize: 0,
      status: null, // Stays null while pending, and when the response was dropped.
      dropped: false,
      fault: null,
    };
    this.#nextSeq += 1;
    this.#records.push(record);
    return record;
  }

  list() {
    return this.#records.map((record) => ({ ...record }));
  }

  clear() {
    this.#records = [];
  }
}

/**
 * Parses a request body once, for both the record and the handlers.
 * @returns {{json: {value?, error?}, form: {value?, error?}}}
 */
export function parseBodies(contentType, body) {
  const isMultipart = /^multipart\//i.test(String(contentType ?? ''));
  return {
    json: parseJsonBody(contentType, body),
    form: isMultipart ? tryParseForm(body, contentType) : { error: `expected multipart/form-data, got ${JSON.stringify(contentType ?? null)}` },
  };
}

/** Copies what a test wants to see of the body into the record. */
export function describeBody(record, contentType, body, parsed) {
  record.bodySize = body.length;
  if (body.length === 0) return;
  if (/^application\/json\b/i.test(String(contentType ?? ''))) {
    if (parsed.json.error) record.bodyError = parsed.json.error;
    else record.json = parsed.json.value;
  } else if (/^multipart\//i.test(String(contentType ?? ''))) {
    if (parsed.form.error) record.bodyError = parsed.form.error;
    else record.multipart = parsed.form.value;
  } else {
    record.text = body.toString('utf8', 0, Math.min(body.length, MAX_TEXT));
  }
}

function tryParseForm(body, contentType) {
  try {
    return { value: parseFormData(body, contentType) };
  } catch (error) {
    return { error: error.message };
  }
}
