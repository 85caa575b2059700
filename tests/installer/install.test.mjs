// installer/install.sh, run for real in a throw-away HOME (whose path has spaces) and a throw-away
// system root (STOFLOW_INSTALL_ROOT), with a fake executable host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BROWSERS, INSTALLER, MANIFEST_FILE, REPO, expectedManifests, listFiles, listTree, makeSandbox,
  manifestProblems, run, writeExecutable,
} from './helpers.mjs';

function assertManifests(expected, hostPath) {
  assert.ok(expected.length > 0);
  const problems = expected.flatMap((e) => manifestProblems(e.file, e.flavour, hostPath));
  assert.deepEqual(problems, []);
}

function assertOk(res) {
  assert.equal(res.code, 0, `exit ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
}

test('installs for every Linux browser, per user, with valid manifests', (t) => {
  const sb = makeSandbox(t);
  const res = run('install.sh', ['--host', sb.host], sb);
  assertOk(res);
  const expected = expectedManifests('linux', 'user', BROWSERS, sb);
  assert.equal(expected.length, 6);
  assertManifests(expected, sb.host);
  // Exactly those files, no temp files left behind, nothing system-wide.
  assert.deepEqual(listFiles(sb.home), expected.map((e) => path.relative(sb.home, e.file)).sort());
  assert.deepEqual(listTree(sb.root), []);
  for (const e of expected) assert.ok(res.stdout.includes(e.file), `reported ${e.file}`);
  for (const b of BROWSERS) assert.match(res.stdout, new RegExp(`^  ${b} +written `, 'm'));
  // Spot checks against the well-known locations.
  assert.ok(fs.existsSync(path.join(sb.home, '.config/google-chrome/NativeMessagingHosts', MANIFEST_FILE)));
  assert.ok(fs.existsSync(path.join(sb.home, '.config/chromium/NativeMessagingHosts', MANIFEST_FILE)));
  assert.ok(fs.existsSync(path.join(sb.home, '.mozilla/native-messaging-hosts', MANIFEST_FILE)));
});

test('is idempotent: a second run changes nothing and says so', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host], sb));
  const expected = expectedManifests('linux', 'user', BROWSERS, sb);
  const before = new Map(expected.map((e) => [e.file, fs.readFileSync(e.file, 'utf8')]));
  const treeBefore = listTree(sb.home);
  const res = run('install.sh', ['--host', sb.host], sb);
  assertOk(res);
  assert.deepEqual(listTree(sb.home), treeBefore);
  for (const e of expected) assert.equal(fs.readFileSync(e.file, 'utf8'), before.get(e.file));
  assertManifests(expected, sb.host);
  for (const b of BROWSERS) assert.match(res.stdout, new RegExp(`^  ${b} +unchanged `, 'm'));
});

test('a changed host path or a wrong mode is rewritten', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host], sb));
  const expected = expectedManifests('linux', 'user', BROWSERS, sb);
  fs.chmodSync(expected[0].file, 0o600);
  const other = path.join(sb.base, 'other bin', 'stoflow-host');
  writeExecutable(other);
  const res = run('install.sh', ['--host', other], sb);
  assertOk(res);
  assertManifests(expected, other);
  for (const b of BROWSERS) assert.match(res.stdout, new RegExp(`^  ${b} +updated `, 'm'));
  assertOk(run('install.sh', ['--host', other], sb));
  fs.chmodSync(expected[1].file, 0o666);
  const again = run('install.sh', ['--host', other], sb);
  assertOk(again);
  assertManifests(expected, other);
  assert.match(again.stdout, new RegExp(`^  ${expected[1].browsers[0]} +updated `, 'm'));
});

test('--browser firefox installs for Firefox only', (t) => {
  const sb = makeSandbox(t);
  const res = run('install.sh', ['--host', sb.host, '--browser', 'firefox'], sb);
  assertOk(res);
  const expected = expectedManifests('linux', 'user', ['firefox'], sb);
  assertManifests(expected, sb.host);
  assert.deepEqual(listFiles(sb.home), ['.mozilla/native-messaging-hosts/com.stoflow.companion.json']);
  assert.ok(!fs.existsSync(path.join(sb.home, '.config')), 'no Chromium directories created');
  assert.doesNotMatch(res.stdout, /chrome|chromium/);
});

test('--browser is repeatable and takes comma lists', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host, '--browser', 'chrome', '--browser=edge,Brave'], sb));
  const expected = expectedManifests('linux', 'user', ['chrome', 'edge', 'brave'], sb);
  assertManifests(expected, sb.host);
  assert.deepEqual(listFiles(sb.home), expected.map((e) => path.relative(sb.home, e.file)).sort());
});

test('an unknown browser or option is a usage error and writes nothing', (t) => {
  const sb = makeSandbox(t);
  const a = run('install.sh', ['--host', sb.host, '--browser', 'netscape'], sb);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /unknown browser 'netscape'/);
  const b = run('install.sh', ['--host', sb.host, '--frobnicate'], sb);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /unknown option '--frobnicate'/);
  const c = run('install.sh', ['--host'], sb);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--host needs a value/);
  assert.deepEqual(listTree(sb.home), []);
});

test('--help describes every option', (t) => {
  const sb = makeSandbox(t);
  const res = run('install.sh', ['--help'], sb);
  assertOk(res);
  for (const opt of ['--host', '--user', '--system', '--browser', '--chrome-user-data-dir', '--dry-run', '--quiet', '--install-binary']) {
    assert.ok(res.stdout.includes(opt), opt);
  }
  assert.deepEqual(listTree(sb.home), []);
});

test('--chrome-user-data-dir also registers in <dir>/NativeMessagingHosts', (t) => {
  const sb = makeSandbox(t);
  const profile = path.join(sb.base, 'custom profile');
  const res = run('install.sh', ['--host', sb.host, '--browser', 'chromium', '--chrome-user-data-dir', 'custom profile'], sb);
  assertOk(res);
  const file = path.join(profile, 'NativeMessagingHosts', MANIFEST_FILE);
  assert.deepEqual(manifestProblems(file, 'chrome', sb.host), []);
  assert.ok(res.stdout.includes(file));
  assertManifests(expectedManifests('linux', 'user', ['chromium'], sb), sb.host);
  // Only Chromium-family browsers have a user data dir.
  const ff = run('install.sh', ['--host', sb.host, '--browser', 'firefox', '--chrome-user-data-dir', profile], sb);
  assert.equal(ff.code, 2);
  assert.match(ff.stderr, /Chromium-family/);
});

test('--dry-run writes nothing', (t) => {
  const sb = makeSandbox(t);
  const dest = path.join(sb.base, 'opt stoflow');
  const res = run('install.sh', ['--host', sb.host, '--dry-run', '--chrome-user-data-dir', path.join(sb.base, 'prof'), '--install-binary', dest], sb);
  assertOk(res);
  assert.match(res.stdout, /would write/);
  assert.match(res.stdout, /would copy/);
  assert.deepEqual(listTree(sb.home), []);
  assert.deepEqual(listTree(sb.root), []);
  assert.ok(!fs.existsSync(path.join(sb.base, 'prof')));
  assert.ok(!fs.existsSync(dest));
  const sys = run('install.sh', ['--host', sb.host, '--dry-run', '--system'], sb);
  assertOk(sys);
  assert.deepEqual(listTree(sb.root), []);
});

test('a bad --host fails with a clear message and writes nothing', (t) => {
  const sb = makeSandbox(t);
  const notExec = path.join(sb.bin, 'not-executable');
  fs.writeFileSync(notExec, '#!/bin/sh\n');
  fs.chmodSync(notExec, 0o644);
  const cases = [
    [path.join(sb.base, 'missing', 'stoflow-host'), /host executable not found: .*missing\/stoflow-host/],
    [notExec, /not executable: .*not-executable/],
    ['relative/stoflow-host', /host executable not found: .*relative\/stoflow-host/],
    [sb.bin, /is a directory/],
    ['', /--host needs a path/],
  ];
  for (const [host, message] of cases) {
    const res = run('install.sh', ['--host', host], sb);
    assert.notEqual(res.code, 0, `--host ${host}: should fail`);
    assert.match(res.stderr, message, `--host ${host}`);
    assert.deepEqual(listTree(sb.home), [], `--host ${host}: nothing written`);
    assert.deepEqual(listTree(sb.root), []);
  }
});

test('a relative --host is made absolute', (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', path.join('bin dir', 'stoflow-host')], sb, { cwd: sb.base }));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), sb.host);
});

test('quotes, backslashes and non-ASCII in the host path are JSON-escaped', (t) => {
  const sb = makeSandbox(t);
  const odd = path.join(sb.base, 'dir "quoted" \\ back', 'héllo wörld', 'stoflow-host');
  writeExecutable(odd);
  assertOk(run('install.sh', ['--host', odd], sb));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), odd);
});

test('a host path containing the placeholder text is written as it is', (t) => {
  const sb = makeSandbox(t);
  const odd = path.join(sb.base, 'a@HOST_PATH@b', 'stoflow-host');
  writeExecutable(odd);
  const res = run('install.sh', ['--host', odd, '--browser', 'chrome'], sb);
  assertOk(res);
  assertManifests(expectedManifests('linux', 'user', ['chrome'], sb), odd);
});

test('without --host, uses ../bin/stoflow-host of a package layout', (t) => {
  const sb = makeSandbox(t);
  const pkg = path.join(sb.base, 'stoflow companion 1.0');
  fs.cpSync(INSTALLER, path.join(pkg, 'installer'), { recursive: true });
  fs.cpSync(path.join(REPO, 'manifest'), path.join(pkg, 'manifest'), { recursive: true });
  const host = path.join(pkg, 'bin', 'stoflow-host');
  writeExecutable(host);
  const res = run('install.sh', [], sb, { scriptPath: path.join(pkg, 'installer', 'install.sh') });
  assertOk(res);
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), host);
});

test('without --host nor ../bin, uses stoflow-host found in PATH', (t) => {
  if (fs.existsSync(path.join(REPO, 'bin', 'stoflow-host'))) {
    t.skip('the repository has a bin/stoflow-host');
    return;
  }
  const sb = makeSandbox(t);
  const res = run('install.sh', [], sb, { env: { PATH: `${sb.bin}:${process.env.PATH}` } });
  assertOk(res);
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), sb.host);
});

test('without any host to be found, fails and writes nothing', (t) => {
  const onPath = spawnSync('sh', ['-c', 'command -v stoflow-host'], { encoding: 'utf8' });
  if (onPath.status === 0 || fs.existsSync(path.join(REPO, 'bin', 'stoflow-host'))) {
    t.skip('a stoflow-host is installed on this machine');
    return;
  }
  const sb = makeSandbox(t);
  const res = run('install.sh', [], sb);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot find stoflow-host .*--host/);
  assert.deepEqual(listTree(sb.home), []);
});

test('--install-binary copies the host (0755) and points the manifests at the copy', (t) => {
  const sb = makeSandbox(t);
  const dest = path.join(sb.base, 'installed bin');
  const res = run('install.sh', ['--host', sb.host, '--install-binary', dest], sb);
  assertOk(res);
  const copy = path.join(dest, 'stoflow-host');
  assert.equal(fs.statSync(copy).mode & 0o777, 0o755);
  assert.equal(fs.readFileSync(copy, 'utf8'), fs.readFileSync(sb.host, 'utf8'));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), copy);
  assert.deepEqual(fs.readdirSync(dest), ['stoflow-host'], 'no temp file left');
  // Again, from the copy itself: nothing to copy, still fine.
  assertOk(run('install.sh', ['--host', copy, '--install-binary', dest], sb));
});

test('--install-binary refuses a directory where the host should go', (t) => {
  const sb = makeSandbox(t);
  const dest = path.join(sb.base, 'bin');
  fs.mkdirSync(path.join(dest, 'stoflow-host'), { recursive: true });
  const res = run('install.sh', ['--host', sb.host, '--install-binary', dest], sb);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /is a directory/);
  assert.deepEqual(fs.readdirSync(path.join(dest, 'stoflow-host')), []);
});

test('XDG_CONFIG_HOME moves the Chromium-family directories; a relative one is ignored', (t) => {
  const sb = makeSandbox(t);
  const xdg = path.join(sb.base, 'xdg config');
  assertOk(run('install.sh', ['--host', sb.host], sb, { env: { XDG_CONFIG_HOME: xdg } }));
  const expected = expectedManifests('linux', 'user', BROWSERS, sb, { xdgConfigHome: xdg });
  assertManifests(expected, sb.host);
  assert.ok(fs.existsSync(path.join(xdg, 'google-chrome/NativeMessagingHosts', MANIFEST_FILE)));
  assert.ok(fs.existsSync(path.join(sb.home, '.mozilla/native-messaging-hosts', MANIFEST_FILE)));
  const sb2 = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb2.host], sb2, { env: { XDG_CONFIG_HOME: 'relative/dir' } }));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb2), sb2.host);
});

test('--system writes the system-wide directories (under STOFLOW_INSTALL_ROOT), shared ones once', (t) => {
  const sb = makeSandbox(t);
  const res = run('install.sh', ['--host', sb.host, '--system'], sb);
  assertOk(res);
  const expected = expectedManifests('linux', 'system', BROWSERS, sb);
  assertManifests(expected, sb.host);
  assert.deepEqual(listFiles(sb.root), expected.map((e) => path.relative(sb.root, e.file)).sort());
  assert.deepEqual(listTree(sb.home), []);
  for (const rel of ['etc/opt/chrome/native-messaging-hosts', 'etc/chromium/native-messaging-hosts',
    'usr/lib/mozilla/native-messaging-hosts', 'usr/lib64/mozilla/native-messaging-hosts']) {
    assert.ok(fs.existsSync(path.join(sb.root, rel, MANIFEST_FILE)), rel);
  }
  assert.match(res.stdout, /\(same file\)/, 'a directory shared by two browsers is reported, written once');
  assert.equal(fs.statSync(path.join(sb.root, 'etc/opt/chrome/native-messaging-hosts')).mode & 0o777, 0o755);
});

test('macOS rows (STOFLOW_INSTALL_OS=macos), per user and system-wide', (t) => {
  const sb = makeSandbox(t);
  const env = { STOFLOW_INSTALL_OS: 'macos' };
  assertOk(run('install.sh', ['--host', sb.host], sb, { env }));
  const user = expectedManifests('macos', 'user', BROWSERS, sb);
  assert.equal(user.length, 6);
  assertManifests(user, sb.host);
  assert.deepEqual(listFiles(sb.home), user.map((e) => path.relative(sb.home, e.file)).sort());
  assert.ok(fs.existsSync(path.join(sb.home, 'Library/Application Support/Google/Chrome/NativeMessagingHosts', MANIFEST_FILE)));
  assert.ok(fs.existsSync(path.join(sb.home, 'Library/Application Support/Mozilla/NativeMessagingHosts', MANIFEST_FILE)));
  assertOk(run('install.sh', ['--host', sb.host, '--system'], sb, { env }));
  const sys = expectedManifests('macos', 'system', BROWSERS, sb);
  assertManifests(sys, sb.host);
  assert.deepEqual(listFiles(sb.root), sys.map((e) => path.relative(sb.root, e.file)).sort());
  assert.ok(fs.existsSync(path.join(sb.root, 'Library/Google/Chrome/NativeMessagingHosts', MANIFEST_FILE)));
  const bad = run('install.sh', ['--host', sb.host], sb, { env: { STOFLOW_INSTALL_OS: 'beos' } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /STOFLOW_INSTALL_OS must be linux or macos/);
});

test('detects the OS itself when STOFLOW_INSTALL_OS is not set', { skip: process.platform !== 'linux' && 'Linux only' }, (t) => {
  const sb = makeSandbox(t);
  assertOk(run('install.sh', ['--host', sb.host], sb, { env: { STOFLOW_INSTALL_OS: undefined } }));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), sb.host);
});

test('says which browsers were found; installs for the others anyway', (t) => {
  const sb = makeSandbox(t);
  fs.mkdirSync(path.join(sb.home, '.config/google-chrome'), { recursive: true });
  fs.writeFileSync(path.join(sb.home, '.config/google-chrome/Local State'), '{}');
  const fakeBin = path.join(sb.base, 'fake browsers');
  writeExecutable(path.join(fakeBin, 'firefox'));
  const res = run('install.sh', ['--host', sb.host], sb, { env: { PATH: `${fakeBin}:${process.env.PATH}` } });
  assertOk(res);
  const found = res.stdout.match(/^Browsers found:(.*)$/m);
  assert.ok(found, res.stdout);
  assert.ok(found[1].split(' ').includes('chrome'));
  assert.ok(found[1].split(' ').includes('firefox'));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), sb.host);
  // macOS: an application bundle counts.
  const mac = makeSandbox(t);
  fs.mkdirSync(path.join(mac.root, 'Applications', 'Brave Browser.app'), { recursive: true });
  const m = run('install.sh', ['--host', mac.host, '--browser', 'brave,vivaldi'], mac, { env: { STOFLOW_INSTALL_OS: 'macos' } });
  assertOk(m);
  assert.match(m.stdout, /^Browsers found: brave$/m);
  assert.match(m.stdout, /^Not found \(registered anyway.*\): vivaldi$/m);
});

test('--quiet prints nothing on success', (t) => {
  const sb = makeSandbox(t);
  const res = run('install.sh', ['--host', sb.host, '--quiet'], sb);
  assertOk(res);
  assert.equal(res.stdout, '');
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), sb.host);
});

test('a directory in the way of a manifest fails that browser only, with exit 1', (t) => {
  const sb = makeSandbox(t);
  const blocked = path.join(sb.home, '.config/chromium/NativeMessagingHosts', MANIFEST_FILE);
  fs.mkdirSync(blocked, { recursive: true });
  const res = run('install.sh', ['--host', sb.host], sb);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /exists and is not a regular file/);
  const others = expectedManifests('linux', 'user', BROWSERS.filter((b) => b !== 'chromium'), sb);
  assertManifests(others, sb.host);
});

test('an unwritable location fails with exit 1 and a message', (t) => {
  const sb = makeSandbox(t);
  // A file where a directory must be created cannot be worked around, even as root.
  fs.mkdirSync(path.join(sb.root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(sb.root, 'etc', 'opt'), 'not a directory');
  const res = run('install.sh', ['--host', sb.host, '--system', '--browser', 'chrome'], sb);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot create directory .*etc\/opt\/chrome\/native-messaging-hosts/);
});

test('a per-user install needs an absolute HOME; a system-wide one does not', (t) => {
  const sb = makeSandbox(t);
  for (const home of [undefined, '', 'relative/home']) {
    const res = run('install.sh', ['--host', sb.host], sb, { env: { HOME: home } });
    assert.equal(res.code, 1, `HOME=${home}`);
    assert.match(res.stderr, /HOME must be set to an absolute directory/);
  }
  assert.deepEqual(listTree(sb.base).filter((p) => p.includes('NativeMessagingHosts') || p.includes('native-messaging-hosts')), []);
  const sys = run('install.sh', ['--host', sb.host, '--system'], sb, { env: { HOME: undefined } });
  assertOk(sys);
  assert.equal(sys.stderr, '');
  assertManifests(expectedManifests('linux', 'system', BROWSERS, sb), sb.host);
});

test('a symlinked host keeps its symlink path (stable across upgrades)', (t) => {
  const sb = makeSandbox(t);
  const link = path.join(sb.base, 'links', 'stoflow-host');
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(sb.host, link);
  assertOk(run('install.sh', ['--host', link], sb));
  assertManifests(expectedManifests('linux', 'user', BROWSERS, sb), link);
});

test('a manifest replaced by a symlink is replaced by a real file', (t) => {
  const sb = makeSandbox(t);
  const dir = path.join(sb.home, '.mozilla/native-messaging-hosts');
  fs.mkdirSync(dir, { recursive: true });
  const elsewhere = path.join(sb.base, 'elsewhere.json');
  fs.writeFileSync(elsewhere, '{"name": "com.stoflow.companion", "path": "/old"}');
  fs.symlinkSync(elsewhere, path.join(dir, MANIFEST_FILE));
  assertOk(run('install.sh', ['--host', sb.host, '--browser', 'firefox'], sb));
  assert.deepEqual(manifestProblems(path.join(dir, MANIFEST_FILE), 'firefox', sb.host), []);
  assert.equal(fs.readFileSync(elsewhere, 'utf8'), '{"name": "com.stoflow.companion", "path": "/old"}', 'the link target is not written through');
});

test('an invalid --chrome-user-data-dir is rejected before anything is written', (t) => {
  const sb = makeSandbox(t);
  const file = path.join(sb.base, 'a file');
  fs.writeFileSync(file, '');
  const a = run('install.sh', ['--host', sb.host, '--chrome-user-data-dir', file], sb);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /exists and is not a directory/);
  const b = run('install.sh', ['--host', sb.host, '--chrome-user-data-dir', ''], sb);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /--chrome-user-data-dir needs a directory/);
  assert.deepEqual(listTree(sb.home), []);
});
