// Throw-away test PKI for the fake Vinted site, made with the `openssl` CLI.
//
// A browser reaches the fake through the CONNECT proxy as https://www.vinted.fr, so the fake must
// present a certificate for the real names. We mint a private CA at start (or reuse one kept in a
// state dir), sign one leaf covering every www.vinted.<tld>, and throw the CA key away right after:
// a CA that a test profile trusts must not be able to sign anything else later. The CA is also
// name-constrained to the Vinted domains and 127.0.0.1, so even a leaked copy of it is useless for
// any other site.

import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Country sites the fake answers for (www.vinted.<tld>). */
export const VINTED_TLDS = Object.freeze([
  'fr', 'de', 'co.uk', 'it', 'es', 'nl', 'be', 'pl', 'at', 'lu', 'pt', 'cz', 'sk', 'lt', 'se',
  'dk', 'fi', 'ro', 'hu', 'hr', 'gr', 'ie', 'com',
]);

export const VINTED_HOSTNAMES = Object.freeze(VINTED_TLDS.map((tld) => `www.vinted.${tld}`));

// Browsers cap leaf lifetimes at 398 days; staying under it keeps a reused state dir valid.
const VALIDITY_DAYS = 397;
// A kept certificate is regenerated when it would expire within this margin.
const REUSE_MARGIN_MS = 24 * 3600 * 1000;

const FILES = Object.freeze({ caCert: 'ca.pem', leafCert: 'leaf.pem', leafKey: 'leaf.key' });

/**
 * Returns the CA certificate and the leaf key pair in `dir`, generating them unless a usable set
 * is already there (a state dir reused across runs keeps the CA a browser profile already trusts).
 * @returns {Promise<{caCertPath, leafCertPath, leafKeyPath, caCert, leafCert, leafKey, spkiHash, reused}>}
 */
export async function ensureCertificates(dir) {
  const paths = {
    caCertPath: join(dir, FILES.caCert),
    leafCertPath: join(dir, FILES.leafCert),
    leafKeyPath: join(dir, FILES.leafKey),
  };
  const kept = await loadIfUsable(paths);
  if (kept) return { ...paths, ...kept, reused: true };
  await generate(dir, paths);
  const fresh = await loadIfUsable(paths);
  if (!fresh) throw new Error(`fake-vinted: openssl produced an unusable certificate set in ${dir}`);
  return { ...paths, ...fresh, reused: false };
}

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo (the form Chromium's
 * --ignore-certificate-errors-spki-list takes). */
export function spkiHashOf(certPem) {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

async function loadIfUsable(paths) {
  let caCert, leafCert, leafKey;
  try {
    [caCert, leafCert, leafKey] = await Promise.all([
      readFile(paths.caCertPath, 'utf8'),
      readFile(paths.leafCertPath, 'utf8'),
      readFile(paths.leafKeyPath, 'utf8'),
    ]);
  } catch {
    return null; // Missing files: generate a new set.
  }
  try {
    const ca = new X509Certificate(caCert);
    const leaf = new X509Certificate(leafCert);
    const usable =
      leaf.checkIssued(ca) &&
      leaf.verify(ca.publicKey) &&
      leaf.checkPrivateKey(createPrivateKey(leafKey)) &&
      VINTED_HOSTNAMES.every((name) => leaf.checkHost(name) === name) &&
      leaf.checkIP('127.0.0.1') === '127.0.0.1' &&
      Date.parse(leaf.validTo) - Date.now() > REUSE_MARGIN_MS &&
      Date.parse(ca.validTo) - Date.now() > REUSE_MARGIN_MS;
    return usable ? { caCert, leafCert, leafKey, spkiHash: spkiHashOf(leafCert) } : null;
  } catch {
    return null; // Corrupt or foreign files: replace them.
  }
}

async function generate(dir, paths) {
  const work = {
    caKey: join(dir, 'ca.key'),
    caConf: join(dir, 'ca.cnf'),
    leafCsr: join(dir, 'leaf.csr'),
    leafConf: join(dir, 'leaf.cnf'),
  };
  // A unique CA name per generation: Firefox refuses two different certificates with the same
  // issuer and serial in one profile, which a fixed name would cause after a regeneration.
  const tag = randomBytes(4).toString('hex');
  await writeFile(work.caConf, caConfig(tag));
  await writeFile(work.leafConf, leafConfig());
  try {
    await openssl([
      'req', '-x509', '-config', work.caConf, '-newkey', 'ec', '-pkeyopt',
      'ec_paramgen_curve:P-256', '-nodes', '-keyout', work.caKey, '-out', paths.caCertPath,
      '-days', String(VALIDITY_DAYS), '-set_serial', randomSerial(), '-sha256',
    ]);
    await openssl([
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', paths.leafKeyPath, '-out', work.leafCsr, '-subj', '/CN=www.vinted.fr', '-sha256',
    ]);
    await openssl([
      'x509', '-req', '-in', work.leafCsr, '-CA', paths.caCertPath, '-CAkey', work.caKey,
      '-set_serial', randomSerial(), '-days', String(VALIDITY_DAYS), '-sha256',
      '-extfile', work.leafConf, '-extensions', 'v3_leaf', '-out', paths.leafCertPath,
    ]);
    await chmod(paths.leafKeyPath, 0o600);
  } finally {
    // The CA key goes as soon as the leaf is signed (see the header comment).
    await Promise.all(Object.values(work).map((file) => rm(file, { force: true })));
  }
}

async function openssl(args) {
  try {
    await execFileAsync('openssl', args, { timeout: 30_000 });
  } catch (error) {
    const detail = error.stderr ? `: ${String(error.stderr).trim()}` : '';
    throw new Error(`fake-vinted: openssl ${args[0]} failed${detail}`, { cause: error });
  }
}

function randomSerial() {
  // Positive 64-bit serial (top bit clear, as DER integers are signed).
  const bytes = randomBytes(8);
  bytes[0] &= 0x7f;
  return `0x${bytes.toString('hex')}`;
}

function registrableDomains() {
  return VINTED_TLDS.map((tld) => `vinted.${tld}`);
}

// Our own config file, so the result does not depend on the system openssl.cnf defaults.
function caConfig(tag) {
  const permitted = [
    ...registrableDomains().map((domain) => `permitted;DNS:${domain}`),
    'permitted;IP:127.0.0.1/255.255.255.255',
  ].join(', ');
  return [
    '[req]',
    'prompt = no',
    'distinguished_name = dn',
    'x509_extensions = v3_ca',
    '[dn]',
    'O = StoFlow tests',
    `CN = StoFlow fake Vinted test CA ${tag}`,
    '[v3_ca]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    `nameConstraints = critical, ${permitted}`,
    '',
  ].join('\n');
}

function leafConfig() {
  const names = ['www.vinted.fr', '*.vinted.fr', ...VINTED_HOSTNAMES.filter((h) => h !== 'www.vinted.fr')];
  return [
    '[v3_leaf]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid, issuer',
    'subjectAltName = @san',
    '[san]',
    ...names.map((name, i) => `DNS.${i + 1} = ${name}`),
    'IP.1 = 127.0.0.1',
    '',
  ].join('\n');
}
