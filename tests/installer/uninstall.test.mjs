// installer/uninstall.sh: removes exactly our manifests, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BROWSERS, MANIFEST_FILE, REPO, expectedManifests, listFiles, listTree, makeSandbox, manifestProblems, run,
} from './helpers.mjs';

function assertOk(res) {
  assert.equal(res.code, 0, `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
}

test('removes every manifest it installed and leaves foreign files alone', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host], sb));
  const chromeDir = path.join(sb.home, '.config/google-chrome/NativeMessagingHosts');
  const foreign = path.join(chromeDir, 'org.keepassxc.keepassxc_browser.json');
  fs.writeFileSync(foreign, '{"name": "org.keepassxc.keepassxc_browser"}\n');
  const treeDirs = listTree(sb.home).filter((p) => p.endsWith('/'));
  const res = run('uninstall.sh', [], sb);
  assertOk(res);
  assert.deepEqual(listFiles(sb.home), [path.relative(sb.home, foreign)]);
  // Directories stay: they belong to the browsers.
  assert.deepEqual(listTree(sb.home).filter((p) => p.endsWith('/')), treeDirs);
  for (const b of BROWSERS) assert.match(res.stdout, new RegExp(`^  ${b} +removed `, 'm'));
});

test('keeps a com.stoflow.companion.json that does not name our host', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host, '--browser', 'chrome'], sb));
  const ffDir = path.join(sb.home, '.mozilla/native-messaging-hosts');
  fs.mkdirSync(ffDir, { recursive: true });
  const impostor = path.join(ffDir, MANIFEST_FILE);
  const text = JSON.stringify({ name: 'com.someone.else', path: '/bin/true', type: 'stdio', allowed_extensions: ['x@y'] });
  fs.writeFileSync(impostor, text);
  const res = run('uninstall.sh', [], sb);
  assertOk(res);
  assert.equal(fs.readFileSync(impostor, 'utf8'), text);
  assert.match(res.stderr, /does not name com\.stoflow\.companion; left alone/);
  assert.ok(!fs.existsSync(path.join(sb.home, '.config/google-chrome/NativeMessagingHosts', MANIFEST_FILE)));
});

test('keeps a manifest with our name whose path is not a stoflow-host', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host, '--browser', 'firefox,chrome'], sb));
  const file = path.join(sb.home, '.mozilla/native-messaging-hosts', MANIFEST_FILE);
  const text = JSON.stringify({ name: 'com.stoflow.companion', path: '/usr/bin/keepassxc-proxy', type: 'stdio' });
  fs.writeFileSync(file, text);
  const res = run('uninstall.sh', [], sb);
  assertOk(res);
  assert.equal(fs.readFileSync(file, 'utf8'), text);
  assert.match(res.stderr, /does not point at a stoflow-host; left alone/);
  assert.ok(!fs.existsSync(path.join(sb.home, '.config/google-chrome/NativeMessagingHosts', MANIFEST_FILE)));
});

// The host's own `stoflow-host uninstall` parses the manifest; uninstall.sh greps it. Both must
// take the same files for ours. ctest sets STOFLOW_HOST_BIN; by hand the release build is used.
test('uninstall.sh and stoflow-host uninstall agree on which manifests are ours', (t) => {
  const host = process.env.STOFLOW_HOST_BIN ?? path.join(REPO, 'build/release/host/stoflow-host');
  assert.ok(fs.existsSync(host), `no host binary at ${host}: build it, or set STOFLOW_HOST_BIN`);
  const cases = [
    [true, { name: 'com.stoflow.companion', path: '/usr/bin/stoflow-host' }],
    [true, { name: 'com.stoflow.companion', path: 'C:\\Tools\\stoflow-host.exe' }],
    [true, { name: 'com.stoflow.companion', path: '/a "quoted" dir/stoflow-host', type: 'stdio' }],
    [true, { path: '/moved/stoflow-host', name: 'com.stoflow.companion' }],
    [false, { name: 'com.stoflow.companion', path: '/usr/bin/not-stoflow-host' }],
    [false, { name: 'com.stoflow.companion', path: '/usr/bin/stoflow-host/' }],
    [false, { name: 'com.stoflow.companion', path: '/usr/bin/keepassxc-proxy' }],
    [false, { name: 'com.stoflow.companion' }],
    [false, { name: 'org.other', path: '/usr/bin/stoflow-host' }],
  ];
  for (const [ours, manifest] of cases) {
    const kept = [];
    for (const tool of ['script', 'host']) {
      const sb = makeSandbox(t);
      const dir = path.join(sb.home, '.mozilla/native-messaging-hosts');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
      const res = tool === 'script'
        ? run('uninstall.sh', ['--browser', 'firefox'], sb)
        : spawnSync(host, ['uninstall', '--browser', 'firefox'], {
          env: { PATH: process.env.PATH, HOME: sb.home, STOFLOW_INSTALL_ROOT: sb.root }, encoding: 'utf8',
        });
      assert.equal(res.status ?? res.code, 0, `${tool}: ${res.stderr}`);
      kept.push(fs.existsSync(path.join(dir, MANIFEST_FILE)));
    }
    assert.deepEqual(kept, [!ours, !ours], JSON.stringify(manifest));
  }
});

test('--browser firefox removes Firefox only', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host], sb));
  assertOk(run('uninstall.sh', ['--browser', 'firefox'], sb));
  assert.ok(!fs.existsSync(path.join(sb.home, '.mozilla/native-messaging-hosts', MANIFEST_FILE)));
  const rest = expectedManifests('linux', 'user', BROWSERS.filter((b) => b !== 'firefox'), sb);
  assert.deepEqual(rest.flatMap((e) => manifestProblems(e.file, e.flavour, sb.host)), []);
});

test('--dry-run removes nothing', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host, '--system'], sb));
  assertOk(run('install.sh', ['--host', sb.host], sb));
  const home = listTree(sb.home);
  const root = listTree(sb.root);
  const res = run('uninstall.sh', ['--dry-run'], sb);
  assertOk(res);
  assert.match(res.stdout, /would remove/);
  assertOk(run('uninstall.sh', ['--dry-run', '--system'], sb));
  assert.deepEqual(listTree(sb.home), home);
  assert.deepEqual(listTree(sb.root), root);
});

test('nothing installed: succeeds and says so', (t) => {
  const sb = makeSandbox(t);
  const res = run('uninstall.sh', [], sb);
  assertOk(res);
  assert.match(res.stdout, /not present/);
  assert.deepEqual(listTree(sb.home), []);
});

test('--system keeps a directory still used by a browser that is not uninstalled', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host, '--system'], sb));
  const shared = path.join(sb.root, 'etc/chromium/native-messaging-hosts', MANIFEST_FILE);
  const res = run('uninstall.sh', ['--system', '--browser', 'brave'], sb);
  assertOk(res);
  assert.ok(fs.existsSync(shared), 'Chromium still uses /etc/chromium');
  assert.match(res.stdout, /kept \(used by chromium vivaldi\)/);
  assert.ok(!fs.existsSync(path.join(sb.root, 'etc/opt/brave/native-messaging-hosts', MANIFEST_FILE)));
  assertOk(run('uninstall.sh', ['--system'], sb));
  assert.deepEqual(listFiles(sb.root), []);
});

test('--chrome-user-data-dir and --remove-binary', (t) => {
  const sb = makeSandbox(t);
  const profile = path.join(sb.base, 'kiosk profile');
  const binDir = path.join(sb.base, 'opt bin');
  assertOk(run('install.sh', ['--host', sb.host, '--chrome-user-data-dir', profile, '--install-binary', binDir], sb));
  const file = path.join(profile, 'NativeMessagingHosts', MANIFEST_FILE);
  assert.ok(fs.existsSync(file));
  const res = run('uninstall.sh', ['--chrome-user-data-dir', profile, '--remove-binary', binDir], sb);
  assertOk(res);
  assert.ok(!fs.existsSync(file));
  assert.ok(!fs.existsSync(path.join(binDir, 'stoflow-host')));
  assert.ok(fs.existsSync(sb.host), 'the original host is untouched');
  assert.deepEqual(listFiles(sb.home), []);
});

test('macOS rows (STOFLOW_INSTALL_OS=macos)', (t) => {
  const sb = makeSandbox(t);
  const env = { STOFLOW_INSTALL_OS: 'macos' };
  assertOk(run('install.sh', ['--host', sb.host], sb, { env }));
  const other = path.join(sb.home, 'Library/Application Support/Mozilla/NativeMessagingHosts/other.json');
  fs.writeFileSync(other, '{}');
  assertOk(run('uninstall.sh', [], sb, { env }));
  assert.deepEqual(listFiles(sb.home), [path.relative(sb.home, other)]);
});

test('--help and usage errors', (t) => {
  const sb = makeSandbox(t);
  const help = run('uninstall.sh', ['--help'], sb);
  assertOk(help);
  for (const opt of ['--user', '--system', '--browser', '--chrome-user-data-dir', '--dry-run', '--quiet', '--remove-binary']) {
    assert.ok(help.stdout.includes(opt), opt);
  }
  const bad = run('uninstall.sh', ['--browser', 'mosaic'], sb);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown browser 'mosaic'/);
});
