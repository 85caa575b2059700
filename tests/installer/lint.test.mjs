// Static checks of the installer scripts: bash syntax, shellcheck, and no
// bash 4+ constructs that macOS's bash 3.2 would reject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { INSTALLER } from './helpers.mjs';

const scripts = ['install.sh', 'uninstall.sh', 'lib.sh'].map((s) => path.join(INSTALLER, s));

test('the scripts parse with bash -n', () => {
  for (const s of scripts) {
    const res = spawnSync('bash', ['-n', s], { encoding: 'utf8' });
    assert.equal(res.status, 0, `${s}: ${res.stderr}`);
  }
});

test('install.sh and uninstall.sh are executable and strict', () => {
  for (const s of scripts.slice(0, 2)) {
    assert.ok(fs.statSync(s).mode & 0o111, `${s} is executable`);
    const text = fs.readFileSync(s, 'utf8');
    assert.ok(text.startsWith('#!/usr/bin/env bash\n'), `${s}: shebang`);
    assert.match(text, /^set -euo pipefail$/m, `${s}: set -euo pipefail`);
  }
});

test('no bash 4+ only constructs (macOS ships bash 3.2)', () => {
  for (const s of scripts) {
    const code = fs.readFileSync(s, 'utf8').split('\n').filter((l) => !l.trim().startsWith('#')).join('\n');
    for (const [re, what] of [
      [/\bdeclare -A\b|\blocal -A\b/, 'associative arrays'],
      [/\bmapfile\b|\breadarray\b/, 'mapfile'],
      [/\$\{[A-Za-z_]+(,,|\^\^)\}/, 'case modification'],
      [/\[\[ -v /, '[[ -v ]]'],
      [/&>>|\|&/, '&>> or |&'],
      [/\bshopt -s globstar\b/, 'globstar'],
    ]) {
      assert.doesNotMatch(code, re, `${path.basename(s)}: ${what}`);
    }
  }
});

test('shellcheck is clean', () => {
  // scripts/test installs shellcheck: a missing one is a broken setup, not a reason to pass.
  const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  assert.ok(!probe.error && probe.status === 0, 'shellcheck is missing: run ./scripts/test, which installs it');
  const res = spawnSync('shellcheck', ['-x', ...scripts], { encoding: 'utf8', cwd: INSTALLER });
  assert.equal(res.status, 0, res.stdout + res.stderr);
});
