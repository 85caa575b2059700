// Pure result mapping details the server-backed executor tests do not pin down.
import assert from "node:assert/strict";
import { test } from "node:test";
import { excerpt, mapHttpResponse, parseRetryAfter } from "../../extension/src/http-result.js";

const NOW = Date.parse("2026-01-10T12:00:00Z");
const response = (status, text, headers = {}) => ({ status, text, headers: new Headers(headers) });

test("Retry-After: seconds, HTTP date, past date, garbage, missing", () => {
  assert.equal(parseRetryAfter("120", NOW), 120);
  assert.equal(parseRetryAfter(" 0 ", NOW), 0);
  assert.equal(parseRetryAfter("Sat, 10 Jan 2026 12:00:30 GMT", NOW), 30);
  assert.equal(parseRetryAfter("Sat, 10 Jan 2026 11:00:00 GMT", NOW), 0);
  assert.equal(parseRetryAfter("soon", NOW), 60);
  assert.equal(parseRetryAfter("-5", NOW), 60);
  assert.equal(parseRetryAfter(null, NOW), 60);
  assert.equal(parseRetryAfter("100000", NOW), 86400); // the host's limit
  assert.equal(parseRetryAfter("99999999999999999999999", NOW), 86400);
  assert.equal(parseRetryAfter("Fri, 10 Jan 2031 12:00:00 GMT", NOW), 86400);
});

test("a browser's opaque redirect (status 0) is a challenge without an http_status", () => {
  const result = mapHttpResponse({ status: 0, text: "", headers: new Headers(), redirected: true }, NOW);
  assert.equal(result.error_kind, "challenge");
  assert.equal("http_status" in result, false);
});

test("429 with an HTTP-date Retry-After", () => {
  const result = mapHttpResponse(response(429, "", { "Retry-After": "Sat, 10 Jan 2026 12:01:00 GMT" }), NOW);
  assert.equal(result.error_kind, "rate_limited");
  assert.equal(result.retry_after, 60);
  assert.equal(typeof result.retry_after, "number");
});

test("2xx JSON of any shape is passed through as result", () => {
  for (const body of ["[]", "0", '"text"', '{"item":{"id":1,"url":"u"}}', "null"]) {
    const result = mapHttpResponse(response(201, body, { "Content-Type": "application/json" }), NOW);
    assert.equal(result.success, true);
    assert.deepEqual(result.result, JSON.parse(body));
  }
});

test("2xx JSON served with a wrong content type still counts as JSON", () => {
  assert.equal(mapHttpResponse(response(200, '{"a":1}', { "Content-Type": "text/plain" }), NOW).success, true);
});

test("2xx HTML is a challenge even with an empty-looking body", () => {
  const result = mapHttpResponse(response(200, "", { "Content-Type": "text/html" }), NOW);
  assert.equal(result.success, false);
  assert.equal(result.error_kind, "challenge");
});

test("403 tagged by a bot-protection header is a challenge even with JSON", () => {
  assert.equal(mapHttpResponse(response(403, '{"x":1}', { "X-DataDome": "protected" }), NOW).error_kind, "challenge");
});

test("other statuses, including 3xx and 404, are http", () => {
  for (const status of [304, 400, 404, 409, 502]) {
    const result = mapHttpResponse(response(status, '{"message":"nope"}'), NOW);
    assert.equal(result.error_kind, "http", String(status));
    assert.equal(result.http_status, status);
    assert.match(result.error_message, new RegExp(`^HTTP ${status}: `));
    assert.deepEqual(result.result, { message: "nope" });
  }
});

test("excerpt flattens whitespace and cuts long text", () => {
  assert.equal(excerpt("a \n\n b"), "a b");
  assert.equal(excerpt("x".repeat(300)).length, 201);
  assert.equal(excerpt(undefined), "");
});
