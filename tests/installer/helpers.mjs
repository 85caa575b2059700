// Shared helpers for the installer tests (not a test file itself: node --test only runs *.test.mjs).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const INSTALLER = path.join(REPO, 'installer');
export const TABLE = path.join(INSTALLER, 'browsers.tsv');
export const HOST_NAME = 'com.stoflow.companion';
export const MANIFEST_FILE = `${HOST_NAME}.json`;
export const CHROME_ORIGIN = 'chrome-extension://kikocaejcljggdneaelndeobljajgmho/';
export const FIREFOX_ID = 'companion@stoflow.app';
export const BROWSERS = ['chrome', 'chromium', 'edge', 'brave', 'vivaldi', 'firefox'];

/**
 * Parses browsers.tsv with the rules written at its top (the same rules install.sh, install.ps1
 * and the host's doctor follow): '#' and blank lines skipped, the first other line is the header,
 * then rows of exactly 5 tab-separated fields. Throws on a malformed line.
 */
export function readTable(file = TABLE) {
  const rows = [];
  let header = null;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split('\t');
    if (header === null) {
      header = fields;
      if (fields.join(' ') !== 'os scope browser flavour location') {
        throw new Error(`${file}:${i + 1}: bad header ${JSON.stringify(line)}`);
      }
      return;
    }
    if (fields.length !== 5 || fields.some((f) => f === '')) {
      throw new Error(`${file}:${i + 1}: expected 5 non-empty tab-separated fields: ${JSON.stringify(line)}`);
    }
    const [osName, scope, browser, flavour, location] = fields;
    rows.push({ os: osName, scope, browser, flavour, location, line: i + 1 });
  });
  if (header === null) throw new Error(`${file}: no header`);
  return rows;
}

/** Expands a linux/macos location exactly as documented in browsers.tsv. */
export function expandLocation(location, { home, xdgConfigHome = '', root = '' }) {
  if (location.startsWith('~/')) return path.join(home, location.slice(2));
  if (location.startsWith('$XDG_CONFIG_HOME/')) {
    const base = xdgConfigHome.startsWith('/') ? xdgConfigHome : path.join(home, '.config');
    return path.join(base, location.slice('$XDG_CONFIG_HOME/'.length));
  }
  if (location.startsWith('/')) return root + location;
  throw new Error(`cannot expand ${location}`);
}

/**
 * A throw-away world: a HOME whose path has spaces, a system root for STOFLOW_INSTALL_ROOT, and an
 * executable fake host. Call cleanup() when done.
 */
export function makeSandbox(t) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'stoflow installer '));
  const home = path.join(base, 'home with spaces', 'seller');
  const root = path.join(base, 'system root');
  const bin = path.join(base, 'bin dir');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(bin, { recursive: true });
  const host = path.join(bin, 'stoflow-host');
  writeExecutable(host);
  const sandbox = {
    base,
    home,
    root,
    bin,
    host,
    cleanup() {
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
  if (t) t.after(() => sandbox.cleanup());
  return sandbox;
}

export function writeExecutable(file, body = '#!/bin/sh\nexit 0\n') {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, body);
  fs.chmodSync(file, 0o755);
}

/**
 * Runs installer/<script> with bash in a controlled environment: HOME is the sandbox's, no
 * XDG_CONFIG_HOME, no STOFLOW_* unless given, the OS forced to linux unless env says otherwise.
 */
export function run(script, args, sandbox, { env = {}, cwd, scriptPath } = {}) {
  const baseEnv = {
    PATH: process.env.PATH,
    HOME: sandbox.home,
    LC_ALL: 'C',
    STOFLOW_INSTALL_OS: 'linux',
    STOFLOW_INSTALL_ROOT: sandbox.root,
  };
  const fullEnv = { ...baseEnv, ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  const res = spawnSync('bash', [scriptPath ?? path.join(INSTALLER, script), ...args], {
    env: fullEnv,
    cwd: cwd ?? sandbox.base,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.error) throw res.error;
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Every file (not directory) under dir, as sorted paths relative to dir. */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** Every entry (files and directories) under dir, relative, sorted. */
export function listTree(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(dir, p) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) walk(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** The manifest files the table says install.sh writes for os/scope/browsers. */
export function expectedManifests(osName, scope, browsers, sandbox, { xdgConfigHome = '' } = {}) {
  const byFile = new Map();
  for (const row of readTable()) {
    if (row.os !== osName || row.scope !== scope || !browsers.includes(row.browser)) continue;
    const dir = expandLocation(row.location, { home: sandbox.home, xdgConfigHome, root: sandbox.root });
    const file = path.join(dir, MANIFEST_FILE);
    const prev = byFile.get(file);
    if (prev && prev.flavour !== row.flavour) throw new Error(`${file}: two flavours`);
    byFile.set(file, { file, flavour: row.flavour, browsers: [...(prev?.browsers ?? []), row.browser] });
  }
  return [...byFile.values()];
}

/** Asserts-free check of one manifest; returns a list of problems (empty when fine). */
export function manifestProblems(file, flavour, hostPath) {
  const problems = [];
  let st;
  try {
    st = fs.lstatSync(file);
  } catch {
    return [`${file}: missing`];
  }
  if (!st.isFile()) problems.push(`${file}: not a regular file`);
  if ((st.mode & 0o777) !== 0o644) problems.push(`${file}: mode ${(st.mode & 0o777).toString(8)}, want 644`);
  let m;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return [...problems, `${file}: not JSON: ${e.message}`];
  }
  if (m.name !== HOST_NAME) problems.push(`${file}: name ${m.name}`);
  if (m.type !== 'stdio') problems.push(`${file}: type ${m.type}`);
  if (typeof m.description !== 'string' || m.description === '') problems.push(`${file}: no description`);
  if (typeof m.path !== 'string' || !path.isAbsolute(m.path)) problems.push(`${file}: path not absolute: ${m.path}`);
  if (hostPath !== undefined && m.path !== hostPath) problems.push(`${file}: path ${m.path}, want ${hostPath}`);
  if (flavour === 'chrome') {
    if (JSON.stringify(m.allowed_origins) !== JSON.stringify([CHROME_ORIGIN])) {
      problems.push(`${file}: allowed_origins ${JSON.stringify(m.allowed_origins)}`);
    }
    if ('allowed_extensions' in m) problems.push(`${file}: chrome manifest has allowed_extensions`);
  } else {
    if (JSON.stringify(m.allowed_extensions) !== JSON.stringify([FIREFOX_ID])) {
      problems.push(`${file}: allowed_extensions ${JSON.stringify(m.allowed_extensions)}`);
    }
    if ('allowed_origins' in m) problems.push(`${file}: firefox manifest has allowed_origins`);
  }
  return problems;
}
