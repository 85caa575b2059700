// CSRF token extraction and the per-origin cache.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CsrfTokenProvider, extractCsrfToken, isCsrfComplaint } from "../../extension/src/csrf.js";
import { sendHtml, startServer } from "./helpers.mjs";

test("extracts the token from the forms pages use", () => {
  const cases = [
    ['<meta name="csrf-token" content="abc123">', "abc123"],
    ["<META content='xyz==' NAME='CSRF-TOKEN' />", "xyz=="],
    ['<meta name="csrf-param" content="authenticity_token"><meta name="csrf-token" content="a+b/c=">', "a+b/c="],
    ['<meta name="csrf-token" content="a&amp;b&#x2F;c&#43;">', "a&b/c+"],
    ['<script>window.__CONF = {"CSRF_TOKEN":"75f6c9fa-dc8e-4e52-a000-e09dd4084b3e","X":1}</script>', "75f6c9fa-dc8e-4e52-a000-e09dd4084b3e"],
    ['<script>self.__next_f.push([1,"{\\"CSRF_TOKEN\\":\\"tok-in-json-string\\",\\"a\\":2}"])</script>', "tok-in-json-string"],
    ['<script>x={"CSRF_TOKEN" : "spaced"}</script>', "spaced"],
    ['<script>x={"CSRF_TOKEN":"with\\/slash"}</script>', "with/slash"],
  ];
  for (const [html, token] of cases) assert.equal(extractCsrfToken(html), token, html);
});

test("returns null when there is no token", () => {
  for (const html of ["", "<html></html>", '<meta name="csrf-token" content="">', '<meta name="viewport" content="x">', '{"CSRF_TOKEN":""}', '\\"CSRF_TOKEN\\":\\"\\"', null, 42]) {
    assert.equal(extractCsrfToken(html), null, String(html));
  }
});

test("recognises CSRF complaints only on 401/403", () => {
  assert.equal(isCsrfComplaint(403, '{"message":"Invalid CSRF token"}'), true);
  assert.equal(isCsrfComplaint(401, "InvalidAuthenticityToken"), true);
  assert.equal(isCsrfComplaint(401, "authenticity token is invalid"), true);
  assert.equal(isCsrfComplaint(401, '{"code":100}'), false);
  assert.equal(isCsrfComplaint(422, "csrf"), false);
  assert.equal(isCsrfComplaint(403, undefined), false);
});

let server;
let pageFetches = 0;
let mode = "ok";
before(async () => {
  server = await startServer((req, res) => {
    pageFetches += 1;
    assert.equal(req.url, "/");
    if (mode === "down") return res.writeHead(503).end();
    if (mode === "slow") return setTimeout(() => sendHtml(res, 200, '<meta name="csrf-token" content="late">'), 1_000);
    return sendHtml(res, 200, `<meta name="csrf-token" content="t${pageFetches}">`);
  });
});
after(() => server.close());

test("caches per origin, shares concurrent reads, refreshes on demand", async () => {
  mode = "ok";
  pageFetches = 0;
  const provider = new CsrfTokenProvider({ fetch });
  const [a, b] = await Promise.all([provider.get(server.origin), provider.get(server.origin)]);
  assert.equal(a, "t1");
  assert.equal(b, "t1");
  assert.equal(await provider.get(server.origin), "t1");
  assert.equal(pageFetches, 1);
  assert.equal(await provider.get(server.origin, { refresh: true }), "t2");
  provider.invalidate(server.origin);
  assert.equal(await provider.get(server.origin), "t3");
  assert.equal(pageFetches, 3);
});

test("sends the seller's cookies when reading the page", async () => {
  let seen;
  const provider = new CsrfTokenProvider({ fetch: async (url, init) => { seen = { url, init }; return new Response('<meta name="csrf-token" content="c">'); } });
  assert.equal(await provider.get("https://www.vinted.fr"), "c");
  assert.equal(seen.url, "https://www.vinted.fr/");
  assert.equal(seen.init.credentials, "include");
});

test("an unreadable page gives null, not cached", async () => {
  mode = "down";
  pageFetches = 0;
  const provider = new CsrfTokenProvider({ fetch });
  assert.equal(await provider.get(server.origin), null);
  mode = "ok";
  assert.equal(await provider.get(server.origin), "t2");
  const offline = new CsrfTokenProvider({ fetch: async () => { throw new TypeError("fetch failed"); } });
  assert.equal(await offline.get("https://www.vinted.fr"), null);
});

test("a page that never answers times out to null", async () => {
  mode = "slow";
  const provider = new CsrfTokenProvider({ fetch, timeoutMs: 100 });
  const started = Date.now();
  assert.equal(await provider.get(server.origin), null);
  assert.ok(Date.now() - started < 900);
  mode = "ok";
});
