#!/usr/bin/env node
// How long one big photo takes from the host to the marketplace, in a real browser: a product
// with one 8 MiB JPEG is published through the real host, the real extension in a real browser,
// and the fake Vinted (the e2e harness, tests/e2e/lib). The figure is the time from the moment the
// host hands the upload step out to the moment the fake has received the whole upload:
//
//   hand-out   the host's own log line "leased task N" (INFO, written whatever the bench does;
//              millisecond clock, taken just before the lease is committed and sent)
//   received   the fake's record of the request: `receivedAt`, when the last body byte arrived
//   request    the fake's `startedAt`, when the request's headers arrived: it splits the figure
//              into "host → extension → request start" and "the upload itself"
//
// Nothing is timed inside the host or the extension, so the path is the one a seller runs. The
// host logs at info (the seller's default), not debug. A warm-up product with a small photo goes
// first (the extension reads the site's CSRF token once per origin; the first step of a fresh
// browser pays for it), then every run publishes a new product with a new 8 MiB photo.
//
// Beside each figure: the CPU time the browser's processes and the host used from the publish to
// the upload's arrival, read from /proc before and after (so nothing runs in them meanwhile):
// where the time goes, and how much of the wall time was waiting for a CPU on a shared machine.
// Chromium's browser process reads a native host's pipe 4 KiB at a time on its I/O thread,
// which is shown apart.
//
//   node tests/bench/photo_upload.mjs [--runs N] [--mib N] [--browsers chromium,firefox]
//
// Environment: STOFLOW_HOST_BIN (the host; default build/release), as for the e2e tests.
// A benchmark that prints figures, never a pass/fail test; it fails only if an upload is wrong.

import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { createWorld, product } from '../e2e/lib/world.mjs';
import { sleep, waitFor } from '../e2e/lib/util.mjs';

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    mib: { type: 'string', default: '8' },
    browsers: { type: 'string', default: 'chromium' },
  },
});
const RUNS = Number(options.runs);
const PHOTO_BYTES = Math.round(Number(options.mib) * 1024 * 1024);
const BROWSERS = options.browsers.split(',').map((b) => b.trim()).filter(Boolean);

/**
 * A baseline JPEG of `size` bytes: SOI, a JFIF APP0, a 4000×3000 SOF0, a DHT-less SOS header and
 * random entropy-coded bytes (0xFF stuffed as a real encoder would), then EOI. Both the host and
 * the fake read it as a JPEG by its header; its bytes do not compress, like a real photo's.
 */
function makeJpeg(size) {
  const head = Buffer.from([
    0xff, 0xd8, // SOI
    0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00, // APP0 JFIF
    0xff, 0xc0, 0x00, 0x11, 0x08, 0x0b, 0xb8, 0x0f, 0xa0, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, // SOF0
    0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, // SOS
  ]);
  const tail = Buffer.from([0xff, 0xd9]); // EOI
  const scan = randomBytes(size - head.length - tail.length);
  // In entropy-coded data a 0xFF is followed by 0x00; keep the scan free of stray markers.
  for (let i = 0; i < scan.length - 1; i += 1) if (scan[i] === 0xff) scan[i + 1] = 0x00;
  if (scan[scan.length - 1] === 0xff) scan[scan.length - 1] = 0x00;
  return Buffer.concat([head, scan, tail]);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The millisecond the host leased task `taskId`, from its log. */
function leaseTime(logFile, taskId) {
  const pattern = new RegExp(`^(\\S+) INFO \\[\\d+\\] leased task ${taskId} \\(`);
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const match = pattern.exec(line);
    if (match) return Date.parse(match[1]);
  }
  throw new Error(`no "leased task ${taskId}" line in ${logFile}`);
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function readProcFile(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process or thread is gone
  }
}

/** {pid → {ppid, cmdline}} of every process. */
function processTable() {
  const table = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcFile(`/proc/${entry}/stat`);
    const cmdline = readProcFile(`/proc/${entry}/cmdline`);
    if (stat === null || cmdline === null) continue;
    table.set(Number(entry), { ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), cmdline });
  }
  return table;
}

/**
 * CPU time in ms used so far by the browser of `world` and its children (the host included),
 * by role: `io` is the thread of Chromium's browser process that reads the host's pipe.
 */
function cpuByRole(world) {
  const table = processTable();
  const ours = (pid) => table.get(pid)?.cmdline.includes(world.profileDir);
  const roots = [...table.keys()].filter((pid) => ours(pid) && !ours(table.get(pid).ppid));
  const children = new Map();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const hosts = new Set(world.hostPids());
  const used = { browser: 0, io: 0, extension: 0, other: 0, host: 0 };
  const visit = (pid, isRoot) => {
    const { cmdline } = table.get(pid);
    let role = isRoot ? 'browser' : hosts.has(pid) ? 'host' : cmdline.includes('--extension-process') ? 'extension' : 'other';
    for (const task of readdirSync(`/proc/${pid}/task`, { throwIfNoEntry: false }) ?? []) {
      const stat = readProcFile(`/proc/${pid}/task/${task}/stat`);
      if (stat === null) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const thread = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      used[role === 'browser' && thread === 'Chrome_IOThread' ? 'io' : role] += ms;
    }
    for (const child of children.get(pid) ?? []) visit(child, false);
  };
  for (const root of roots) visit(root, true);
  return used;
}

function cpuSince(before, after) {
  return Object.fromEntries(Object.keys(after).map((role) => [role, after[role] - (before[role] ?? 0)]));
}

function photoUpload(world, afterSeq) {
  return world.fake.received().find((r) => r.seq > afterSeq && r.method === 'POST' && r.pathname === '/api/v2/photos' && r.receivedAt !== null);
}

/** Publishes one product with one photo; returns the timings of its upload. */
async function publishOne(world, name, photo) {
  const afterSeq = Math.max(0, ...world.fake.received().map((r) => r.seq));
  const [productId] = await world.importProducts([product({ title: `Bench ${name}`, images: [`photos/${name}`] })], { [name]: photo });
  const cpuBefore = cpuByRole(world);
  const queueId = await world.publish(productId);
  // In-process: the fake lives in this process, so waiting on it spawns nothing that could
  // compete with the browser and the host for the CPU during the upload.
  const upload = await waitFor(() => photoUpload(world, afterSeq), { timeoutMs: 60_000, intervalMs: 20, what: `the upload of ${name}` });
  const cpu = cpuSince(cpuBefore, cpuByRole(world));
  const queue = await world.waitForQueue(queueId, 'completed', { timeoutMs: 60_000 });
  const [file] = upload.multipart?.files ?? [];
  if (upload.status !== 200 || file?.size !== photo.length || file?.sha256 !== sha256(photo)) {
    throw new Error(`the upload of ${name} is wrong: status ${upload.status}, ${file?.size} bytes, sha256 ${file?.sha256}`);
  }
  const step = queue.tasks.find((t) => t.step === 'upload_photo_1');
  const handOut = leaseTime(world.hostLog, step.id);
  world.fake.reset(); // drop the recorded bytes
  return { total: upload.receivedAt - handOut, toRequest: upload.startedAt - handOut, upload: upload.receivedAt - upload.startedAt, cpu };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (value) => `${value.toFixed(0).padStart(5)} ms`;

async function benchBrowser(browser) {
  // Info, as a seller's host logs: debug would write a line per event loop pass.
  const world = await createWorld({ browser, hostEnv: { STOFLOW_LOG_LEVEL: 'info' } });
  try {
    await publishOne(world, 'warm-up.jpg', makeJpeg(64 * 1024));
    const loadBefore = loadavg()[0];
    const runs = [];
    for (let i = 1; i <= RUNS; i += 1) {
      runs.push(await publishOne(world, `photo-${i}.jpg`, makeJpeg(PHOTO_BYTES)));
      await sleep(200); // let the draft and completion steps settle
    }
    const mib = (PHOTO_BYTES / 1024 / 1024).toFixed(PHOTO_BYTES % (1024 * 1024) ? 1 : 0);
    console.log(`photo upload, ${mib} MiB JPEG, ${browser}: step hand-out → upload received by the fake` +
      ` (load average ${loadBefore.toFixed(1)} → ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`);
    const cpuText = ({ browser: b, io, extension, other, host }) =>
      `CPU: browser ${b + io}${io ? ` (I/O thread ${io})` : ''}, ${extension ? `extension ${extension}, ` : ''}other ${other}, host ${host}`;
    runs.forEach((run, i) => {
      console.log(`  run ${String(i + 1).padStart(2)}  ${ms(run.total)}   (to request start ${ms(run.toRequest)}, upload ${ms(run.upload)}; ${cpuText(run.cpu)} ms)`);
    });
    const totals = runs.map((r) => r.total);
    const medianCpu = Object.fromEntries(Object.keys(runs[0].cpu).map((role) => [role, median(runs.map((r) => r.cpu[role]))]));
    console.log(`  median ${ms(median(totals))}   min ${ms(Math.min(...totals))}   max ${ms(Math.max(...totals))}` +
      `   (to request start ${ms(median(runs.map((r) => r.toRequest)))}, upload ${ms(median(runs.map((r) => r.upload)))}; ${cpuText(medianCpu)} ms)`);
  } finally {
    await world.close();
  }
}

for (const browser of BROWSERS) await benchBrowser(browser);
