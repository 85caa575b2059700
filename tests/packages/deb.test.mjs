// The .deb (cmake/package.cmake), taken apart with dpkg-deb into a temporary root and checked:
// its control fields, every file and mode, the host running from it, the three system-wide
// manifests against what that very host writes, and the extension.
//
// ctest builds the package from its own build tree first (the package-deb fixture of
// tests/CMakeLists.txt) and sets STOFLOW_DEB_DIR; by hand, after ./scripts/package:
//   node --test tests/packages/
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, listFiles, ok, projectVersion, tool } from './helpers.mjs';

const HOST = '/usr/bin/stoflow-host';
const MANIFESTS = {
  '/etc/opt/chrome/native-messaging-hosts/com.stoflow.companion.json': 'chrome',
  '/etc/chromium/native-messaging-hosts/com.stoflow.companion.json': 'chrome',
  '/usr/lib/mozilla/native-messaging-hosts/com.stoflow.companion.json': 'firefox',
};
const CONFFILES = Object.keys(MANIFESTS).filter((f) => f.startsWith('/etc/'));
const EXTENSION = '/usr/share/stoflow-companion/extension';
const CHROME_ORIGIN = 'chrome-extension://kikocaejcljggdneaelndeobljajgmho/';
const FIREFOX_ID = 'companion@stoflow.app';

const version = projectVersion();
const debDir = process.env.STOFLOW_DEB_DIR ?? path.join(REPO, 'build/packages');
let arch;
let deb;
let work;
let root; // the package's files, as dpkg -x unpacks them

before(() => {
  arch = ok('dpkg', ['--print-architecture']).trim();
  deb = path.join(debDir, `stoflow-companion_${version}_${arch}.deb`);
  assert.ok(fs.existsSync(deb), `no ${deb}: run ./scripts/package (or ctest, which builds it first)`);
  work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stoflow deb ')));
  root = path.join(work, 'root');
  ok('dpkg-deb', ['-x', deb, root]);
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A clean environment for the packaged host: a private HOME, root and database. */
function hostEnv(name, extra = {}) {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: path.join(dir, 'home'),
    STOFLOW_DB: path.join(dir, 'data', 'stoflow.db'),
    STOFLOW_INSTALL_ROOT: path.join(dir, 'system root'),
    ...extra,
  };
}

function packagedHost(args, env) {
  return ok(path.join(root, HOST), args, { env });
}

test('the control fields: name, version, architecture, maintainer, description, dependencies', () => {
  ok('dpkg-deb', ['-I', deb]);
  const fields = {};
  let last = null;
  for (const line of ok('dpkg-deb', ['-f', deb]).split('\n')) {
    if (line.startsWith(' ') && last) fields[last] += `\n${line}`;
    else if (line.includes(':')) {
      last = line.slice(0, line.indexOf(':'));
      fields[last] = line.slice(line.indexOf(':') + 1).trim();
    }
  }
  assert.equal(fields.Package, 'stoflow-companion');
  assert.equal(fields.Version, version);
  assert.equal(fields.Architecture, arch);
  assert.match(fields.Maintainer, /^[^<>]+ <[^@<>\s]+@[^@<>\s]+\.[a-z]+>$/);
  assert.equal(fields.Section, 'utils');
  assert.equal(fields.Priority, 'optional');
  assert.match(fields.Description.split('\n')[0], /^[a-z].* Vinted /, 'a one-line English summary');
  assert.ok(fields.Description.split('\n').length > 3, 'and a long description');
  assert.match(fields['Installed-Size'], /^[0-9]+$/);
  // Computed by dpkg-shlibdeps from what the binary links: the C and C++ runtimes and SQLite.
  const depends = fields.Depends.split(',').map((d) => d.trim().split(' ')[0]);
  for (const lib of ['libc6', 'libstdc++6', 'libsqlite3-0']) assert.ok(depends.includes(lib), `Depends: ${lib}`);
  assert.ok(!depends.some((d) => d.startsWith('libcurl')), 'libcurl is loaded at run time only');
  assert.equal(fields.Recommends, 'libcurl4');
  // The manifests in /etc are conffiles.
  const control = path.join(work, 'control');
  ok('dpkg-deb', ['-e', deb, control]);
  assert.deepEqual(fs.readFileSync(path.join(control, 'conffiles'), 'utf8').trim().split('\n').sort(), CONFFILES.sort());
});

test('exactly the host, the three manifests and the extension, root-owned, with their modes', () => {
  const entries = ok('dpkg-deb', ['-c', deb]).trim().split('\n').map((line) => {
    const [mode, owner, , , , ...rest] = line.split(/\s+/);
    return { mode, owner, path: rest.join(' ').replace(/^\./, '') };
  });
  for (const e of entries) assert.equal(e.owner, 'root/root', e.path);
  const files = entries.filter((e) => !e.mode.startsWith('d'));
  const extension = listFiles(path.join(REPO, 'extension')).map((f) => `${EXTENSION}/${f}`);
  assert.deepEqual(files.map((e) => e.path).sort(), [HOST, ...Object.keys(MANIFESTS), ...extension].sort());
  for (const e of files) assert.equal(e.mode, e.path === HOST ? '-rwxr-xr-x' : '-rw-r--r--', e.path);
  for (const e of entries.filter((d) => d.mode.startsWith('d'))) assert.equal(e.mode, 'drwxr-xr-x', e.path);
});

test('/usr/bin/stoflow-host runs: --version and doctor --json', () => {
  assert.equal(packagedHost(['--version'], hostEnv('version')), `stoflow-host ${version}\n`);
  const report = JSON.parse(packagedHost(['doctor', '--json'], hostEnv('doctor')));
  assert.equal(report.ok, true);
  assert.equal(report.host.version, version);
  assert.equal(report.host.path, path.join(root, HOST));
  assert.equal(report.database.state, 'missing');
});

test('every manifest is valid JSON, points at /usr/bin/stoflow-host and lets the extension in', () => {
  for (const [file, flavour] of Object.entries(MANIFESTS)) {
    const m = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));
    assert.equal(m.name, 'com.stoflow.companion', file);
    assert.equal(m.type, 'stdio', file);
    assert.equal(m.path, HOST, file);
    if (flavour === 'chrome') assert.deepEqual(m.allowed_origins, [CHROME_ORIGIN], file);
    else assert.deepEqual(m.allowed_extensions, [FIREFOX_ID], file);
  }
});

test('the manifests are what stoflow-host install --system writes for /usr/bin/stoflow-host', () => {
  // The packaged host registers itself under a temporary root: the same bytes but its own path.
  const env = hostEnv('install');
  packagedHost(['install', '--system', '--quiet'], env);
  const self = JSON.stringify(path.join(root, HOST)).slice(1, -1);
  for (const file of Object.keys(MANIFESTS)) {
    const written = fs.readFileSync(path.join(env.STOFLOW_INSTALL_ROOT, file), 'utf8');
    assert.ok(written.includes(self), file);
    assert.equal(fs.readFileSync(path.join(root, file), 'utf8'), written.replace(self, HOST), file);
  }
  // And doctor looks exactly where the package puts them.
  const res = tool(path.join(root, HOST), ['doctor', '--json'], {
    env: { ...hostEnv('doctor-root'), STOFLOW_INSTALL_ROOT: root },
  });
  const report = JSON.parse(res.stdout);
  const seen = report.browsers.flatMap((b) => b.locations).filter((l) => l.state !== 'missing');
  assert.deepEqual([...new Set(seen.map((l) => l.file))].sort(), Object.keys(MANIFESTS).map((f) => root + f).sort());
  for (const l of seen) {
    assert.equal(l.host_path, HOST);
    // Sound, but for the host they name where the package is not installed.
    assert.deepEqual(l.problems.map((p) => p.code), fs.existsSync(HOST) ? [] : ['host_missing'], l.file);
  }
});

test('the extension is shipped whole, and install says where it is', () => {
  const shipped = path.join(root, EXTENSION);
  const files = listFiles(path.join(REPO, 'extension'));
  assert.deepEqual(listFiles(shipped), files);
  for (const f of files) {
    assert.ok(fs.readFileSync(path.join(shipped, f)).equals(fs.readFileSync(path.join(REPO, 'extension', f))), f);
  }
  const out = packagedHost(['install', '--browser', 'firefox'], hostEnv('extension'));
  assert.ok(out.includes(`The extension to load unpacked is ${shipped}\n`), out);
});
