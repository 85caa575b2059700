// The browser table (installer/browsers.tsv), the manifest templates, and the Windows installer's
// reading of the table. PowerShell is not available here, so install.ps1's parsing rules are
// mirrored below and checked against the table, and the script text is checked for those rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BROWSERS, CHROME_ORIGIN, FIREFOX_ID, HOST_NAME, INSTALLER, REPO, TABLE, readTable,
} from './helpers.mjs';

const rows = readTable();

test('browsers.tsv is well formed: known values, no duplicate rows, tabs only between fields', () => {
  const raw = fs.readFileSync(TABLE, 'utf8');
  assert.ok(!raw.includes('\r'), 'no CR line endings');
  assert.ok(raw.endsWith('\n'), 'ends with a newline');
  const seen = new Set();
  for (const r of rows) {
    assert.ok(['linux', 'macos', 'windows'].includes(r.os), `line ${r.line}: os ${r.os}`);
    assert.ok(['user', 'system'].includes(r.scope), `line ${r.line}: scope ${r.scope}`);
    assert.ok(BROWSERS.includes(r.browser), `line ${r.line}: browser ${r.browser}`);
    assert.equal(r.flavour, r.browser === 'firefox' ? 'firefox' : 'chrome', `line ${r.line}: flavour`);
    assert.equal(r.location, r.location.trim(), `line ${r.line}: no surrounding spaces`);
    const key = `${r.os}|${r.scope}|${r.browser}|${r.location}`;
    assert.ok(!seen.has(key), `line ${r.line}: duplicate row`);
    seen.add(key);
    if (r.os === 'windows') {
      assert.equal(r.scope, 'user', `line ${r.line}: windows rows are per user`);
      assert.match(r.location, /^HKCU\\Software\\[^/]+\\NativeMessagingHosts$/, `line ${r.line}`);
    } else {
      assert.match(r.location, /^(~\/|\$XDG_CONFIG_HOME\/|\/)/, `line ${r.line}: location prefix`);
      assert.ok(!r.location.endsWith('/'), `line ${r.line}: no trailing slash`);
      assert.match(r.location, /(NativeMessagingHosts|native-messaging-hosts)$/, `line ${r.line}`);
      if (r.scope === 'system') assert.ok(r.location.startsWith('/'), `line ${r.line}: system rows are absolute`);
      else assert.ok(!r.location.startsWith('/'), `line ${r.line}: user rows are under HOME`);
    }
  }
});

test('browsers.tsv covers every browser on every OS and scope', () => {
  const combos = [['linux', 'user'], ['linux', 'system'], ['macos', 'user'], ['macos', 'system'], ['windows', 'user']];
  for (const [osName, scope] of combos) {
    for (const b of BROWSERS) {
      assert.ok(rows.some((r) => r.os === osName && r.scope === scope && r.browser === b), `${osName} ${scope} ${b}`);
    }
  }
});

test('browsers.tsv has the documented locations', () => {
  const has = (osName, scope, browser, location) =>
    assert.ok(
      rows.some((r) => r.os === osName && r.scope === scope && r.browser === browser && r.location === location),
      `${osName} ${scope} ${browser} ${location}`,
    );
  has('linux', 'user', 'chrome', '$XDG_CONFIG_HOME/google-chrome/NativeMessagingHosts');
  has('linux', 'user', 'chromium', '$XDG_CONFIG_HOME/chromium/NativeMessagingHosts');
  has('linux', 'user', 'edge', '$XDG_CONFIG_HOME/microsoft-edge/NativeMessagingHosts');
  has('linux', 'user', 'brave', '$XDG_CONFIG_HOME/BraveSoftware/Brave-Browser/NativeMessagingHosts');
  has('linux', 'user', 'vivaldi', '$XDG_CONFIG_HOME/vivaldi/NativeMessagingHosts');
  has('linux', 'user', 'firefox', '~/.mozilla/native-messaging-hosts');
  has('linux', 'system', 'chrome', '/etc/opt/chrome/native-messaging-hosts');
  has('linux', 'system', 'chromium', '/etc/chromium/native-messaging-hosts');
  has('linux', 'system', 'edge', '/etc/opt/edge/native-messaging-hosts');
  has('linux', 'system', 'firefox', '/usr/lib/mozilla/native-messaging-hosts');
  has('linux', 'system', 'firefox', '/usr/lib64/mozilla/native-messaging-hosts');
  has('macos', 'user', 'chrome', '~/Library/Application Support/Google/Chrome/NativeMessagingHosts');
  has('macos', 'user', 'chromium', '~/Library/Application Support/Chromium/NativeMessagingHosts');
  has('macos', 'user', 'edge', '~/Library/Application Support/Microsoft Edge/NativeMessagingHosts');
  has('macos', 'user', 'brave', '~/Library/Application Support/BraveSoftware/Brave-Browser/NativeMessagingHosts');
  has('macos', 'user', 'vivaldi', '~/Library/Application Support/Vivaldi/NativeMessagingHosts');
  has('macos', 'user', 'firefox', '~/Library/Application Support/Mozilla/NativeMessagingHosts');
  has('macos', 'system', 'chrome', '/Library/Google/Chrome/NativeMessagingHosts');
  has('macos', 'system', 'chromium', '/Library/Application Support/Chromium/NativeMessagingHosts');
  has('macos', 'system', 'edge', '/Library/Microsoft/Edge/NativeMessagingHosts');
  has('macos', 'system', 'firefox', '/Library/Application Support/Mozilla/NativeMessagingHosts');
});

// Mirrors Read-WindowsRows in installer/install.ps1 (and what the host's doctor does on Windows):
// the registry key created is HKCU\<location minus "HKCU\">\com.stoflow.companion.
function windowsTargets(table = readTable()) {
  return table
    .filter((r) => r.os === 'windows')
    .map((r) => {
      if (r.scope !== 'user' || !r.location.startsWith('HKCU\\')) throw new Error(`line ${r.line}`);
      return { browser: r.browser, flavour: r.flavour, key: `HKCU\\${r.location.slice(5)}\\${HOST_NAME}` };
    });
}

test('windows rows give the per-user registry keys of each browser', () => {
  const keys = (b) => windowsTargets().filter((t) => t.browser === b).map((t) => t.key);
  assert.deepEqual(keys('chrome'), ['HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.stoflow.companion']);
  assert.deepEqual(keys('chromium'), ['HKCU\\Software\\Chromium\\NativeMessagingHosts\\com.stoflow.companion']);
  assert.deepEqual(keys('edge'), ['HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\com.stoflow.companion']);
  assert.ok(keys('brave').includes('HKCU\\Software\\BraveSoftware\\Brave-Browser\\NativeMessagingHosts\\com.stoflow.companion'));
  assert.ok(keys('vivaldi').includes('HKCU\\Software\\Vivaldi\\NativeMessagingHosts\\com.stoflow.companion'));
  // Brave and Vivaldi read Chrome's key (Chromium's fallback), so they are registered there too.
  assert.ok(keys('brave').includes('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.stoflow.companion'));
  assert.ok(keys('vivaldi').includes('HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\com.stoflow.companion'));
  assert.deepEqual(keys('firefox'), ['HKCU\\Software\\Mozilla\\NativeMessagingHosts\\com.stoflow.companion']);
  for (const t of windowsTargets()) assert.equal(t.flavour, t.browser === 'firefox' ? 'firefox' : 'chrome');
});

test('the windows parsing tolerates a CRLF checkout of the table', () => {
  // git on Windows may check browsers.tsv out with CRLF; install.ps1 uses ReadAllLines, which
  // drops the CR, and the shell scripts strip it too. The parse must be the same.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stoflow-crlf-'));
  try {
    const crlf = path.join(tmp, 'browsers.tsv');
    fs.writeFileSync(crlf, fs.readFileSync(TABLE, 'utf8').replace(/\n/g, '\r\n'));
    assert.deepEqual(windowsTargets(readTable(crlf)), windowsTargets());
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('install.ps1 reads the same table with the same rules', () => {
  const ps = fs.readFileSync(path.join(INSTALLER, 'install.ps1'), 'utf8');
  assert.ok(/^[\x09\x0a\x0d\x20-\x7e]*$/.test(ps), 'ASCII only (Windows PowerShell 5.1 reads BOM-less scripts as ANSI)');
  assert.match(ps, /Join-Path \$ScriptDir 'browsers\.tsv'/);
  assert.match(ps, /\.Split\(\[char\]9\)/, 'splits on TAB');
  assert.match(ps, /StartsWith\('#'\)/, "skips '#' lines");
  assert.match(ps, /-ne 'os scope browser flavour location'/, 'checks the header');
  assert.match(ps, /\$fields\.Count -ne 5/, 'requires 5 fields');
  assert.match(ps, /\$fields\[0\] -ne 'windows'/, 'keeps the windows rows');
  assert.match(ps, /Substring\(5\) \+ '\\' \+ \$HostName/, 'key = location minus HKCU\\ plus host name');
  assert.match(ps, /\$HostName = 'com\.stoflow\.companion'/);
  assert.match(ps, /CurrentUser\.CreateSubKey/, 'writes under HKEY_CURRENT_USER');
  assert.match(ps, /SetValue\('', \$manifest/, 'sets the default value to the manifest path');
  assert.match(ps, /\[switch\]\$Uninstall/);
  assert.match(ps, /\[string\]\$HostPath/);
  assert.match(ps, /Join-Path \$env:LOCALAPPDATA 'StoFlow'/);
  // No PowerShell 7-only syntax.
  assert.doesNotMatch(ps, /\?\?|\?\.|-Parallel|ConvertFrom-Json -AsHashtable/);
  // No hard-coded browser registry locations: they come from the table.
  assert.doesNotMatch(ps, /Software\\\\?Google/);
});

test('manifest templates are valid JSON with the placeholder, name and allowed callers', () => {
  for (const flavour of ['chrome', 'firefox']) {
    const text = fs.readFileSync(path.join(REPO, 'manifest', `${flavour}.json.in`), 'utf8');
    assert.equal(text.split('@HOST_PATH@').length, 2, `${flavour}: exactly one @HOST_PATH@`);
    const m = JSON.parse(text);
    assert.equal(m.name, HOST_NAME);
    assert.equal(m.type, 'stdio');
    assert.equal(m.path, '@HOST_PATH@');
    assert.match(m.name, /^[a-z0-9_]+(\.[a-z0-9_]+)*$/, 'Chrome host name rules');
    if (flavour === 'chrome') {
      assert.deepEqual(m.allowed_origins, [CHROME_ORIGIN]);
      assert.equal(m.allowed_extensions, undefined);
    } else {
      assert.deepEqual(m.allowed_extensions, [FIREFOX_ID]);
      assert.equal(m.allowed_origins, undefined);
    }
  }
});

test('docs/install.md lists every location of the table', () => {
  const doc = fs.readFileSync(path.join(REPO, 'docs', 'install.md'), 'utf8');
  for (const r of rows) {
    assert.ok(doc.includes(r.location), `docs/install.md mentions ${r.location} (${r.os} ${r.scope} ${r.browser})`);
  }
  assert.ok(doc.includes('STOFLOW_INSTALL_ROOT') && doc.includes('STOFLOW_INSTALL_OS'));
});

test('the host manifests allow exactly the extension of extension/manifest.json', () => {
  const file = path.join(REPO, 'extension', 'manifest.json');
  const ext = JSON.parse(fs.readFileSync(file, 'utf8'));
  // A Chrome extension id is the first 128 bits of SHA-256(public key DER), hex digits mapped to a-p.
  assert.equal(typeof ext.key, 'string', 'extension/manifest.json has a key, so its id is fixed');
  const hex = crypto.createHash('sha256').update(Buffer.from(ext.key, 'base64')).digest('hex').slice(0, 32);
  const id = [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
  assert.equal(`chrome-extension://${id}/`, CHROME_ORIGIN);
  const gecko = ext.browser_specific_settings?.gecko ?? ext.applications?.gecko;
  assert.equal(gecko?.id, FIREFOX_ID);
  assert.ok((ext.permissions ?? []).includes('nativeMessaging'), 'the extension asks for nativeMessaging');
});
