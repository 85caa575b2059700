// The path guard decides where credentialed requests may go: test it exhaustively.
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTaskUrl, checkTaskPath, PathRefused } from "../../extension/src/path-guard.js";

const ORIGIN = "https://www.vinted.fr";

const GOOD = [
  ["/api/v2/photos", "https://www.vinted.fr/api/v2/photos"],
  ["/api/v2/item_upload/drafts", "https://www.vinted.fr/api/v2/item_upload/drafts"],
  ["/api/v2/item_upload/drafts/123/completion", "https://www.vinted.fr/api/v2/item_upload/drafts/123/completion"],
  ["/api/v2/items/987654321/delete", "https://www.vinted.fr/api/v2/items/987654321/delete"],
  ["/api/v2/catalog/items?page=1&per_page=20", "https://www.vinted.fr/api/v2/catalog/items?page=1&per_page=20"],
  ["/api/v2/items?search_text=..", "https://www.vinted.fr/api/v2/items?search_text=.."],
  ["/", "https://www.vinted.fr/"],
  ["/api/v2/name%20with%20space", "https://www.vinted.fr/api/v2/name%20with%20space"],
  ["/api/v2/a..b/c", "https://www.vinted.fr/api/v2/a..b/c"],
  ["/api/v2/.well", "https://www.vinted.fr/api/v2/.well"],
  ["/api/v2/time:12", "https://www.vinted.fr/api/v2/time:12"],
  ["/catalogue/vêtements", "https://www.vinted.fr/catalogue/v%C3%AAtements"],
  [
    "/api/v2/my_orders?type=sold&status=all&page=2&per_page=50",
    "https://www.vinted.fr/api/v2/my_orders?type=sold&status=all&page=2&per_page=50",
  ],
  ["/api/v2/item_upload/drafts/1%23/completion", "https://www.vinted.fr/api/v2/item_upload/drafts/1%23/completion"],
];

const BAD = [
  ["/api/v2/item_upload/drafts/1#/completion", "fragment cutting the path short"],
  ["/api/v2/item_upload/drafts/1?x=y#/completion", "query then fragment cutting the path short"],
  ["/api/v2/item_upload/drafts/1?x=y/completion", "query holding the rest of the path"],
  ["/api/v2/items?a=1?b=2", "second question mark"],
  ["/api/v2/items?", "empty query"],
  ["/api/v2/items?a=1&&b=2", "empty query pair"],
  ["/api/v2/items#", "empty fragment"],
  ["", "empty"],
  [null, "not a string"],
  [42, "number"],
  [undefined, "undefined"],
  ["api/v2/photos", "no leading slash"],
  ["//evil.example/api", "protocol-relative"],
  ["///evil.example/api", "triple slash"],
  ["https://evil.example/api", "absolute URL"],
  ["javascript:alert(1)", "scheme"],
  ["http:/api", "scheme without host"],
  ["data:text/html,x", "data scheme"],
  ["/\\evil.example", "backslash"],
  ["/api\\..\\admin", "backslash traversal"],
  ["/@evil.example", "at sign"],
  ["/api/v2/x@y", "at sign later"],
  ["/api/../admin", "dot-dot segment"],
  ["/api/v2/..", "trailing dot-dot"],
  ["/..", "root dot-dot"],
  ["/api/./v2", "dot segment"],
  ["/api/%2e%2e/admin", "encoded dot-dot"],
  ["/api/%2E%2E/admin", "upper-case encoded dot-dot"],
  ["/api/.%2e/admin", "half-encoded dot-dot"],
  ["/api/%252e%252e/admin", "double-encoded dot-dot"],
  ["/api/%2525252e%2525252e/admin", "dot-dot encoded four times"],
  ["/api/%2e%2e%2fadmin", "encoded dot-dot and slash"],
  ["/api/%5c..%5cadmin", "encoded backslash"],
  ["/api/%00", "encoded NUL"],
  ["/api/%0d%0aX-Injected:1", "encoded CRLF"],
  ["/api/%zz", "malformed percent-encoding"],
  ["/api/%", "dangling percent"],
  ["/api/v2 /photos", "space"],
  ["/api/v2\t/photos", "tab"],
  ["/api/v2\n/photos", "newline"],
  ["/api/v2\r/photos", "carriage return"],
  ["/api/\u0000", "NUL"],
  ["/api/\u007f", "DEL"],
  ["/api/\u00a0x", "no-break space"],
  ["/api/\u2028x", "line separator"],
  [`/${"a".repeat(5000)}`, "too long"],
];

test("good paths become URLs on the platform origin", async (t) => {
  for (const [path, expected] of GOOD) {
    await t.test(JSON.stringify(path), () => {
      assert.equal(buildTaskUrl(ORIGIN, path), expected);
      assert.deepEqual(checkTaskPath(ORIGIN, path), { ok: true, url: expected });
    });
  }
});

test("bad paths are refused", async (t) => {
  for (const [path, why] of BAD) {
    await t.test(why, () => {
      assert.throws(() => buildTaskUrl(ORIGIN, path), PathRefused);
      const verdict = checkTaskPath(ORIGIN, path);
      assert.equal(verdict.ok, false);
      assert.equal(typeof verdict.reason, "string");
    });
  }
});

test("works with a non-default origin (local test server)", () => {
  assert.equal(buildTaskUrl("http://127.0.0.1:8123", "/x?y=1"), "http://127.0.0.1:8123/x?y=1");
  assert.throws(() => buildTaskUrl("http://127.0.0.1:8123", "//127.0.0.2/x"), PathRefused);
});

test("refuses a path whose URL would not stay on the origin", () => {
  // An origin ending in a port: a path cannot add another host, but the final URL check
  // is what guarantees it, so exercise it with an origin string that does not round-trip.
  assert.throws(() => buildTaskUrl("https://www.vinted.fr:443", "/api"), /leaves the platform origin/);
});
