// Shared by the package tests (not a test file itself: node --test only runs *.test.mjs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The VERSION of project() in CMakeLists.txt: the one place the version is written. */
export function projectVersion() {
  const m = fs.readFileSync(path.join(REPO, 'CMakeLists.txt'), 'utf8').match(/^project\(\w+ VERSION ([0-9.]+)/m);
  assert.ok(m, 'CMakeLists.txt names a VERSION in project()');
  return m[1];
}

/**
 * Runs a tool to its end. A missing tool fails the test, never skips it: scripts/test installs
 * every one of them (dpkg-dev, shellcheck).
 */
export function tool(name, args, options = {}) {
  const res = spawnSync(name, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  assert.ok(!res.error, `${name} could not run (${res.error?.message}): ./scripts/test installs it`);
  return res;
}

/** Like tool(), and the exit status must be 0; returns stdout. */
export function ok(name, args, options = {}) {
  const res = tool(name, args, options);
  assert.equal(res.status, 0, `${name} ${args.join(' ')} exited ${res.status}\n${res.stdout}${res.stderr}`);
  return res.stdout;
}

// Every file (not directory) under dir, relative and sorted: the installer suite's walker.
export { listFiles } from '../installer/helpers.mjs';
