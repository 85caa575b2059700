// Domains, settings storage and the platform → origin mapping.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_VINTED_DOMAIN, isVintedCookieDomain, isVintedDomain, VINTED_DOMAINS } from "../../extension/src/domains.js";
import { createOriginResolver, loadVintedDomain, saveVintedDomain } from "../../extension/src/settings.js";
import { detectBrowser, getBrowserApi, readPortError } from "../../extension/src/browser.js";
import { FakeStorageArea } from "./helpers.mjs";

const storage = (sync = {}, local = {}) => ({ sync: new FakeStorageArea(sync), local: new FakeStorageArea(local) });

test("23 Vinted domains, default www.vinted.fr", () => {
  assert.equal(VINTED_DOMAINS.length, 23);
  assert.equal(DEFAULT_VINTED_DOMAIN, "www.vinted.fr");
  assert.ok(isVintedDomain("www.vinted.co.uk"));
  for (const bad of ["vinted.fr", "www.vinted.us", "evil.com", "www.vinted.fr.evil.com", "", null]) assert.equal(isVintedDomain(bad), false, String(bad));
});

test("cookie domains: host-only and dotted forms", () => {
  assert.ok(isVintedCookieDomain(".vinted.fr"));
  assert.ok(isVintedCookieDomain("www.vinted.fr"));
  assert.ok(isVintedCookieDomain(".www.vinted.com"));
  assert.equal(isVintedCookieDomain(".vinted.xyz"), false);
  assert.equal(isVintedCookieDomain("notvinted.fr"), false);
  assert.equal(isVintedCookieDomain(undefined), false);
});

test("loads from sync, then local, else default; ignores invalid values", async () => {
  assert.equal(await loadVintedDomain(storage()), "www.vinted.fr");
  assert.equal(await loadVintedDomain(storage({ vintedDomain: "www.vinted.de" })), "www.vinted.de");
  assert.equal(await loadVintedDomain(storage({}, { vintedDomain: "www.vinted.it" })), "www.vinted.it");
  assert.equal(await loadVintedDomain(storage({ vintedDomain: "evil.example" }, { vintedDomain: "www.vinted.es" })), "www.vinted.es");
  assert.equal(await loadVintedDomain(storage({ vintedDomain: "evil.example" })), "www.vinted.fr");
  const broken = storage({ vintedDomain: "www.vinted.de" }, { vintedDomain: "www.vinted.pl" });
  broken.sync.failing = true;
  assert.equal(await loadVintedDomain(broken), "www.vinted.pl");
});

test("saves to sync and local, falls back to local, refuses other domains", async () => {
  const both = storage();
  assert.equal(await saveVintedDomain(both, "www.vinted.nl"), "sync");
  assert.equal(both.sync.items.vintedDomain, "www.vinted.nl");
  assert.equal(both.local.items.vintedDomain, "www.vinted.nl");
  const noSync = storage();
  noSync.sync.failing = true;
  assert.equal(await saveVintedDomain(noSync, "www.vinted.be"), "local");
  assert.equal(noSync.local.items.vintedDomain, "www.vinted.be");
  await assert.rejects(saveVintedDomain(storage(), "attacker.example"), /Not a Vinted domain/);
});

test("origin resolver: vinted → the chosen https origin, anything else → null", async () => {
  const resolve = createOriginResolver(storage({ vintedDomain: "www.vinted.co.uk" }));
  assert.equal(await resolve("vinted"), "https://www.vinted.co.uk");
  for (const platform of ["ebay", "etsy", "", "__proto__", "constructor", "toString"]) assert.equal(await resolve(platform), null, platform);
});

test("browser shim: prefers browser, falls back to chrome, detects Firefox by URL", () => {
  const firefox = { runtime: { getURL: () => "moz-extension://abc/" } };
  const chrome = { runtime: { getURL: () => "chrome-extension://kikocaejcljggdneaelndeobljajgmho/" } };
  assert.equal(getBrowserApi({ browser: firefox, chrome }), firefox);
  assert.equal(getBrowserApi({ chrome }), chrome);
  assert.throws(() => getBrowserApi({}), /No WebExtension API/);
  assert.equal(detectBrowser(firefox), "firefox");
  assert.equal(detectBrowser(chrome), "chrome");
});

test("readPortError: Firefox port.error, Chrome lastError, or nothing", () => {
  assert.equal(readPortError({ error: { message: "No such native application x" } }, { runtime: {} }), "No such native application x");
  assert.equal(readPortError({ error: null }, { runtime: { lastError: { message: "Native host has exited." } } }), "Native host has exited.");
  assert.equal(readPortError({}, { runtime: {} }), "");
});
