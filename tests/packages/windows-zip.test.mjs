// scripts/package: the script itself, and its Windows hook. The zip needs the Windows host, which
// the Windows port builds with scripts/build-windows; until that script exists, no zip is made
// and none may be faked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, projectVersion, tool } from './helpers.mjs';

test('no Windows zip is made, let alone faked, while scripts/build-windows does not exist', () => {
  assert.ok(!fs.existsSync(path.join(REPO, 'scripts/build-windows')),
    'scripts/build-windows exists now: replace this test with one that unpacks the zip and checks it');
  const res = tool('bash', [path.join(REPO, 'scripts/package'), 'windows'], { cwd: REPO });
  assert.equal(res.status, 1, res.stdout + res.stderr);
  assert.match(res.stderr, /Windows zip: not built: scripts\/build-windows does not exist yet/);
  const zip = path.join(REPO, 'build/packages', `stoflow-companion-${projectVersion()}-windows-x64.zip`);
  assert.ok(!fs.existsSync(zip), `${zip} exists, but nothing can have built it`);
});

test('scripts/package is strict, executable and shellcheck-clean', () => {
  const script = path.join(REPO, 'scripts/package');
  assert.ok(fs.statSync(script).mode & 0o111, 'executable');
  assert.match(fs.readFileSync(script, 'utf8'), /^set -euo pipefail$/m);
  const res = tool('shellcheck', ['-x', 'package'], { cwd: path.join(REPO, 'scripts') });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.equal(tool('bash', [script, 'bogus']).status, 2);
});
