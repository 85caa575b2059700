// scripts/package windows: the Windows zip, built by scripts/build-windows, unpacked and checked
// as a seller gets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, projectVersion, tool } from './helpers.mjs';

test('the Windows zip holds the host, its installer, the extension and a README in two languages', () => {
  const zip = path.join(REPO, 'build/packages', `stoflow-companion-${projectVersion()}-windows-x64.zip`);
  const res = tool('bash', [path.join(REPO, 'scripts/package'), 'windows'], { cwd: REPO });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.ok(fs.existsSync(zip), `${zip} was not written`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stoflow-zip-'));
  try {
    const unzip = tool('unzip', ['-q', zip, '-d', dir]);
    assert.equal(unzip.status, 0, unzip.stdout + unzip.stderr);
    const root = path.join(dir, 'stoflow-companion');
    const exe = fs.readFileSync(path.join(root, 'bin/stoflow-host.exe'));
    assert.equal(exe.subarray(0, 2).toString('latin1'), 'MZ', 'a Windows executable');
    const pe = exe.readUInt32LE(0x3c);
    assert.equal(exe.subarray(pe, pe + 4).toString('latin1'), 'PE\0\0');
    assert.equal(exe.readUInt16LE(pe + 4), 0x8664, 'x86-64');
    for (const file of ['installer/install.ps1', 'installer/browsers.tsv',
      'manifest/chrome.json.in', 'manifest/firefox.json.in']) {
      assert.deepEqual(fs.readFileSync(path.join(root, file)), fs.readFileSync(path.join(REPO, file)), file);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'extension/manifest.json'), 'utf8'));
    const shipped = JSON.parse(fs.readFileSync(path.join(REPO, 'extension/manifest.json'), 'utf8'));
    assert.deepEqual(manifest, shipped);
    const readme = fs.readFileSync(path.join(root, 'README.txt'), 'utf8');
    assert.match(readme, /\r\n/, 'CRLF line ends for Notepad');
    assert.match(readme, /FRANÇAIS/);
    assert.match(readme, /ENGLISH/);
    assert.match(readme, /installer\\install\.ps1/);
    assert.match(readme, /%LOCALAPPDATA%\\StoFlow/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('scripts/package is strict, executable and shellcheck-clean', () => {
  const script = path.join(REPO, 'scripts/package');
  assert.ok(fs.statSync(script).mode & 0o111, 'executable');
  assert.match(fs.readFileSync(script, 'utf8'), /^set -euo pipefail$/m);
  const res = tool('shellcheck', ['-x', 'package'], { cwd: path.join(REPO, 'scripts') });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.equal(tool('bash', [script, 'bogus']).status, 2);
});
