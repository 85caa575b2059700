// The CLI: one JSON line on stdout, a working fake behind it, clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeJpeg, VintedClient } from '../client.mjs';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli.mjs');
const stateDir = mkdtempSync(join(tmpdir(), 'fake-vinted-cli-test-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

function startCli(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stderr })));
  const firstLine = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    exited.then(({ code }) => reject(new Error(`cli exited (${code}) before printing: ${stderr}`)));
  });
  firstLine.catch(() => {}); // Observed by the tests that wait for it; not an unhandled rejection.
  return { child, firstLine, exited };
}

describe('cli.mjs', () => {
  it('prints its ports and paths, serves, and exits 0 on SIGTERM', async () => {
    const { child, firstLine, exited } = startCli(['--state-dir', stateDir]);
    try {
      const info = JSON.parse(await firstLine);
      assert.equal(info.origin, 'https://www.vinted.fr');
      assert.equal(info.stateDir, stateDir);
      assert.equal(info.caCertPath, join(stateDir, 'ca.pem'));
      assert.match(info.spkiHash, /^[A-Za-z0-9+/]{43}=$/);
      for (const port of [info.httpsPort, info.proxyPort]) assert.ok(Number.isInteger(port) && port > 0);

      const control = await fetch(`${info.controlUrl}/`).then((r) => r.json());
      assert.deepEqual(control, info);

      // A whole login + upload through the proxy of the CLI's fake.
      const fake = { ...info, caCert: readFileSync(info.caCertPath, 'utf8') };
      const client = new VintedClient(fake, { via: 'proxy' });
      try {
        await client.login();
        assert.equal((await client.uploadPhoto({ tempUuid: randomUUID(), bytes: makeJpeg() })).status, 200);
      } finally {
        client.close();
      }
      const photos = await fetch(`${info.controlUrl}/photos`).then((r) => r.json());
      assert.equal(photos.length, 1);
    } finally {
      child.kill('SIGTERM');
    }
    const { code, signal } = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
  });

  it('reuses the CA of its state dir across runs', async () => {
    const first = startCli(['--state-dir', stateDir]);
    const a = JSON.parse(await first.firstLine);
    first.child.kill('SIGTERM');
    await first.exited;
    const second = startCli(['--state-dir', stateDir]);
    const b = JSON.parse(await second.firstLine);
    second.child.kill('SIGTERM');
    await second.exited;
    assert.equal(b.spkiHash, a.spkiHash);
  });

  it('exits 2 on a bad argument', async () => {
    const { exited } = startCli(['--port', 'eighty']);
    const { code, stderr } = await exited;
    assert.equal(code, 2);
    assert.match(stderr, /--port expects an integer/);
  });
});
