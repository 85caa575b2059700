// The host side of the end-to-end tests: its command line, its database and its processes.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { run, runOk } from './util.mjs';

/** Command-line access to one database, as a seller (or a test) uses it. */
export class HostCli {
  constructor({ bin, db, env }) {
    this.bin = bin;
    this.db = db;
    this.env = { ...env, STOFLOW_DB: db };
  }

  /** Runs `stoflow-host ARGS`; throws on a non-zero exit; returns stdout. */
  async run(...args) {
    return (await runOk(this.bin, args, { env: this.env, timeoutMs: 20_000 })).stdout;
  }

  /** Runs it and returns {code, stdout, stderr} whatever the exit status. */
  raw(...args) {
    return run(this.bin, args, { env: this.env, timeoutMs: 20_000 });
  }

  async json(...args) {
    return JSON.parse(await this.run(...args, '--json'));
  }

  /** `products import FILE` → the new product ids. */
  async importProducts(file) {
    return (await this.run('products', 'import', file)).split(/\s+/).filter(Boolean).map(Number);
  }

  /** `publish vinted ID` → the queue id. */
  async publish(productId, platform = 'vinted') {
    const [queueId] = (await this.run('publish', platform, String(productId))).split(/\s+/).filter(Boolean).map(Number);
    if (!Number.isInteger(queueId)) throw new Error(`publish printed no queue id`);
    return queueId;
  }

  queue(id) {
    return this.json('queue', String(id));
  }

  queues() {
    return this.json('queues');
  }

  async listing(productId) {
    const listings = await this.json('listings', '--product', String(productId));
    return listings.find((row) => row.platform === 'vinted') ?? null;
  }

  /** SQL through the sqlite3 program (for what the CLI does not offer: legacy V1 rows). */
  async sql(statement) {
    const { stdout } = await runOk('sqlite3', ['-bail', '-cmd', '.timeout 5000', '-json', this.db, statement], { timeoutMs: 20_000 });
    const text = stdout.trim();
    return text ? JSON.parse(text) : [];
  }
}

function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`);
  } catch {
    return null;
  }
}

/**
 * Native-messaging host processes (started by a browser, not CLI runs) of binary `bin` serving
 * database `db`: matched on /proc/PID/exe and on STOFLOW_DB in /proc/PID/environ, so hosts of other
 * tests or of a real profile on the same machine are never touched.
 */
export function nativeHostPids({ bin, db }) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let exe;
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      continue;
    }
    if (exe !== bin && exe !== `${bin} (deleted)`) continue;
    const cmdline = readProc(pid, 'cmdline');
    const environ = readProc(pid, 'environ');
    if (!cmdline || !environ) continue;
    const args = cmdline.toString('utf8').split('\0').filter(Boolean);
    const nativeMode = args[1]?.startsWith('chrome-extension://') || (args[1]?.endsWith('.json') && args[2]?.includes('@'));
    if (!nativeMode) continue;
    if (!environ.toString('utf8').split('\0').includes(`STOFLOW_DB=${db}`)) continue;
    // A zombie waiting for its browser to reap it is not serving anyone.
    const stat = readProc(pid, 'stat')?.toString('utf8') ?? '';
    if (/^\d+ \(.*\) Z/.test(stat)) continue;
    pids.push(pid);
  }
  return pids;
}

export function killPids(pids, signal = 'SIGKILL') {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
