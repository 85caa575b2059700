// Small helpers shared by the end-to-end harness (not a test file: node --test only runs *.test.mjs).

import { execFile } from 'node:child_process';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const EXTENSION_DIR = join(REPO, 'extension');
export const INSTALLER = join(REPO, 'installer', 'install.sh');
export const CHROME_EXTENSION_ID = 'kikocaejcljggdneaelndeobljajgmho';
export const FIREFOX_ADDON_ID = 'companion@stoflow.app';
export const HOST_NAME = 'com.stoflow.companion';

/** The host under test: $STOFLOW_HOST_BIN (ctest sets it), else the release build. */
export function hostBinary() {
  const fromEnv = process.env.STOFLOW_HOST_BIN;
  const bin = fromEnv ? resolve(fromEnv) : join(REPO, 'build', 'release', 'host', 'stoflow-host');
  return realpathSync(bin); // Throws early, with the path, if the host was not built.
}

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

export function makeTempDir(prefix = 'stoflow-e2e-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Polls `condition` (sync or async) until it returns a truthy value, which is returned. Errors
 * thrown by the condition count as "not yet" (the last one is reported on timeout). Never waits
 * longer than `timeoutMs`.
 */
export async function waitFor(condition, { timeoutMs = 30_000, intervalMs = 250, what = 'condition', describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      let state = '';
      if (describe) {
        try {
          state = `\nstate: ${await describe()}`;
        } catch (error) {
          state = `\n(state unavailable: ${error.message})`;
        }
      }
      const cause = lastError ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}${state}`);
    }
    await sleep(intervalMs);
  }
}

/** Runs a program; resolves {code, stdout, stderr}; never rejects on a non-zero exit. */
export function run(file, args, { env = process.env, cwd, timeoutMs = 30_000, input } = {}) {
  return new Promise((done, fail) => {
    const child = execFile(file, args, { env, cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if (error.killed || error.signal) {
            fail(new Error(`${file} ${args.join(' ')}: killed (${error.signal ?? 'timeout'}) after ${timeoutMs} ms\n${stderr}`));
            return;
          }
          fail(error);
          return;
        }
        done({ code: error ? error.code : 0, stdout, stderr });
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Like run() but throws with the output when the exit status is not 0. */
export async function runOk(file, args, options) {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}
