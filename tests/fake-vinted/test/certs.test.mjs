// The throw-away test PKI: names covered, SPKI hash, CA constraints, key handling, reuse.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureCertificates, VINTED_HOSTNAMES } from '../lib/certs.mjs';
import { startFakeVinted } from '../server.mjs';

const dirs = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'fake-vinted-certs-test-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

// The SPKI hash computed independently with the openssl CLI, as Chromium's docs describe it.
function opensslSpkiHash(certPath) {
  return execFileSync('sh', ['-c',
    `openssl x509 -in "${certPath}" -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
  ]).toString().trim();
}

describe('test certificates', () => {
  it('issue a leaf for every Vinted host, *.vinted.fr and 127.0.0.1, signed by the CA', async () => {
    const certs = await ensureCertificates(tempDir());
    const ca = new X509Certificate(certs.caCert);
    const leaf = new X509Certificate(certs.leafCert);
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    for (const name of VINTED_HOSTNAMES) assert.equal(leaf.checkHost(name), name);
    assert.equal(leaf.checkHost('anything.vinted.fr'), '*.vinted.fr');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkHost('www.example.com'), undefined);
    assert.equal(leaf.checkHost('www.vinted.de.example.com'), undefined);
    const validDays = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
    assert.ok(validDays > 390 && validDays <= 398, `leaf lifetime ${validDays} days (browsers cap at 398)`);
    execFileSync('openssl', ['verify', '-CAfile', certs.caCertPath, certs.leafCertPath]);
  });

  it('exposes the leaf SPKI hash in the form Chromium takes', async () => {
    const certs = await ensureCertificates(tempDir());
    assert.match(certs.spkiHash, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(certs.spkiHash, opensslSpkiHash(certs.leafCertPath));
  });

  it('name-constrains the CA and throws its key away', async () => {
    const dir = tempDir();
    const certs = await ensureCertificates(dir);
    const text = execFileSync('openssl', ['x509', '-in', certs.caCertPath, '-noout', '-text']).toString();
    assert.match(text, /X509v3 Name Constraints: critical/);
    assert.match(text, /DNS:vinted\.fr/);
    assert.match(text, /DNS:vinted\.co\.uk/);
    assert.match(text, /IP:127\.0\.0\.1\/255\.255\.255\.255/);
    assert.match(text, /pathlen:0/);
    assert.deepEqual(['ca.key', 'leaf.csr', 'ca.cnf', 'leaf.cnf'].filter((f) => existsSync(join(dir, f))), []);
    assert.equal(statSync(certs.leafKeyPath).mode & 0o777, 0o600);
  });

  it('reuses a valid set in the state dir and replaces a damaged one', async () => {
    const dir = tempDir();
    const first = await ensureCertificates(dir);
    const again = await ensureCertificates(dir);
    assert.equal(first.reused, false);
    assert.equal(again.reused, true);
    assert.equal(again.spkiHash, first.spkiHash);
    writeFileSync(join(dir, 'leaf.pem'), 'garbage');
    const replaced = await ensureCertificates(dir);
    assert.equal(replaced.reused, false);
    assert.notEqual(replaced.spkiHash, first.spkiHash);
  });

  it('keeps a given state dir after close() and removes its own temp dir', async () => {
    const stateDir = join(tempDir(), 'state');
    const kept = await startFakeVinted({ stateDir });
    await kept.close();
    assert.ok(existsSync(join(stateDir, 'ca.pem')));
    const restarted = await startFakeVinted({ stateDir });
    assert.equal(restarted.spkiHash, kept.spkiHash, 'a browser profile trusting the CA keeps working');
    await restarted.close();

    const temp = await startFakeVinted();
    assert.ok(existsSync(temp.caCertPath));
    await temp.close();
    assert.equal(existsSync(temp.stateDir), false);
  });
});
