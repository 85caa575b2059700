// The manifest must load in Chrome and Firefox and pin both extension ids.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { VINTED_DOMAINS, vintedHostPermissions } from "../../extension/src/domains.js";

const extensionDir = fileURLToPath(new URL("../../extension/", import.meta.url));
const manifestText = readFileSync(`${extensionDir}manifest.json`, "utf8");
const manifest = JSON.parse(manifestText);

const EXPECTED_HOSTS = [
  "fr", "de", "co.uk", "it", "es", "nl", "be", "pl", "at", "lu", "pt", "cz",
  "sk", "lt", "se", "dk", "fi", "ro", "hu", "hr", "gr", "ie", "com",
].map((tld) => `https://www.vinted.${tld}/*`);

/** Chrome's id: first 128 bits of SHA-256(DER public key), hex digits 0-f mapped to a-p. */
function chromeIdFromKey(base64Key) {
  const hex = createHash("sha256").update(Buffer.from(base64Key, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((digit) => String.fromCharCode(97 + parseInt(digit, 16))).join("");
}

test("is MV3 with a name and a version browsers accept", () => {
  assert.equal(manifest.manifest_version, 3);
  assert.equal(typeof manifest.name, "string");
  assert.match(manifest.version, /^\d+(\.\d+){0,3}$/);
});

test("declares the background for both browsers as an ES module", () => {
  assert.equal(manifest.background.service_worker, "background.js");
  assert.deepEqual(manifest.background.scripts, ["background.js"]);
  assert.equal(manifest.background.type, "module");
});

test("pins the Firefox add-on id and minimum version", () => {
  assert.equal(manifest.browser_specific_settings.gecko.id, "companion@stoflow.app");
  assert.equal(manifest.browser_specific_settings.gecko.strict_min_version, "128.0");
});

test("the key fixes the Chrome id to kikocaejcljggdneaelndeobljajgmho", () => {
  assert.equal(typeof manifest.key, "string");
  assert.equal(chromeIdFromKey(manifest.key), "kikocaejcljggdneaelndeobljajgmho");
});

test("asks for exactly the permissions it needs", () => {
  assert.deepEqual([...manifest.permissions].sort(), ["cookies", "nativeMessaging", "storage"]);
  assert.ok(!manifest.permissions.includes("alarms"));
});

test("host permissions are exactly the Vinted sites", () => {
  assert.deepEqual(manifest.host_permissions, EXPECTED_HOSTS);
  assert.deepEqual(manifest.host_permissions, vintedHostPermissions());
  assert.equal(new Set(VINTED_DOMAINS).size, VINTED_DOMAINS.length);
});

test("every page and script it names exists", () => {
  for (const file of [manifest.background.service_worker, manifest.action.default_popup, manifest.options_ui.page]) {
    assert.ok(existsSync(`${extensionDir}${file}`), `${file} is missing`);
  }
});

test("declares no remote code or extra surfaces", () => {
  assert.equal(manifest.content_scripts, undefined);
  assert.equal(manifest.externally_connectable, undefined);
  assert.equal(manifest.web_accessible_resources, undefined);
});
