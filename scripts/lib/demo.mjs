// The StoFlow Companion demo, run by scripts/demo after the build.
//
// Everything happens in a throw-away world under out/demo/ (recreated on each run): a HOME, a
// Chromium profile and a data directory. The host is registered with the real installer, a fake
// www.vinted.fr (tests/fake-vinted) stands in for the site, and headless Chromium runs the
// unpacked extension exactly as a seller's browser would. Then, as a seller would:
//   log in to Vinted, `stoflow-host products import examples/products.json`,
//   `stoflow-host publish vinted ID`, and watch the queue until the listing is online.
//
// Exit status: 0 when every imported product is published, 1 otherwise.
//
// Options: --latency-ms N   how long the fake site takes to answer an API call (default 250), so
//                           the steps can be watched one by one; 0 for full speed
//          --timeout-ms N   give up after this long (default 90000)
//          --keep-open      keep the browser and the fake running until Ctrl-C (for a look around)

import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeVinted } from '../../tests/fake-vinted/server.mjs';
import { launchChromium } from '../../tests/e2e/lib/browsers.mjs';
import { HostCli, killPids, nativeHostPids } from '../../tests/e2e/lib/host.mjs';
import { hostBinary, INSTALLER, REPO, runOk, sleep, waitFor } from '../../tests/e2e/lib/util.mjs';

const { values: options } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '250' },
    'timeout-ms': { type: 'string', default: '90000' },
    'keep-open': { type: 'boolean', default: false },
  },
});
const LATENCY_MS = Number(options['latency-ms']);
const DEADLINE = Date.now() + Number(options['timeout-ms']);
const started = Date.now();

const OUT = join(REPO, 'out', 'demo');
const HOME = join(OUT, 'home');
const PROFILE = join(OUT, 'chromium-profile');
const DATA = join(OUT, 'data');
const DB = join(DATA, 'stoflow.db');
const PRODUCTS = join(REPO, 'examples', 'products.json');
const SCREENSHOT = join(OUT, 'popup.png');

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (text) => process.stdout.write(`[${elapsed()}] ${text}\n`);
const remaining = () => Math.max(1_000, DEADLINE - Date.now());
const rel = (path) => relative(process.cwd(), path) || '.';

let fake = null;
let browser = null;
let hostBin = null;

async function cleanup() {
  await browser?.close().catch(() => {});
  if (hostBin) {
    await waitFor(() => nativeHostPids({ bin: hostBin, db: DB }).length === 0, { timeoutMs: 3_000, intervalMs: 100 }).catch(() => {});
    killPids(nativeHostPids({ bin: hostBin, db: DB }));
  }
  await fake?.close().catch(() => {});
}

async function main() {
  hostBin = hostBinary();
  rmSync(OUT, { recursive: true, force: true });
  for (const dir of [HOME, PROFILE, DATA]) mkdirSync(dir, { recursive: true });

  fake = await startFakeVinted({ stateDir: join(OUT, 'fake-vinted') });
  if (LATENCY_MS > 0) fake.inject({ pathPattern: '^/api/', times: 1_000_000, delayMs: LATENCY_MS });
  say(`fake Vinted up: ${fake.origin} through the CONNECT proxy on 127.0.0.1:${fake.proxyPort}`);

  // The browser's environment is the host's (the browser starts it): a private HOME and database.
  const env = {
    ...process.env,
    HOME,
    XDG_CONFIG_HOME: join(HOME, '.config'),
    XDG_DATA_HOME: join(HOME, '.local', 'share'),
    XDG_CACHE_HOME: join(HOME, '.cache'),
    STOFLOW_DB: DB,
  };
  const cli = new HostCli({ bin: hostBin, db: DB, env });

  await runOk(INSTALLER, ['--host', hostBin, '--browser', 'chromium', '--chrome-user-data-dir', PROFILE, '--quiet'], { env });
  say(`host registered by installer/install.sh in ${rel(join(PROFILE, 'NativeMessagingHosts'))}/`);

  browser = await launchChromium({ profileDir: PROFILE, fake, env, viewport: { width: 1100, height: 800 } });
  await waitFor(async () => (await browser.connectionState()) === 'connected', {
    timeoutMs: Math.min(20_000, remaining()), what: 'the extension to connect to the host',
  });
  say(`headless Chromium ${browser.context.browser()?.version() ?? ''} running the extension; connected to stoflow-host`);

  await browser.navigate('https://www.vinted.fr/member/login?auto=1');
  say('logged in to Vinted in the browser (https://www.vinted.fr/member/login)');

  const productIds = await cli.importProducts(PRODUCTS);
  say(`$ stoflow-host products import ${rel(PRODUCTS)}  →  product ${productIds.join(', ')}`);
  const queues = [];
  for (const productId of productIds) {
    const queueId = await cli.publish(productId);
    const product = await cli.run('products', 'show', String(productId)).then(JSON.parse).catch(() => ({}));
    queues.push({ queueId, productId, title: product.title ?? `product ${productId}` });
    say(`$ stoflow-host publish vinted ${productId}  →  queue ${queueId}`);
  }

  // Follow each queue as the extension works through it, printing every change of step.
  for (const entry of queues) {
    let last = '';
    const queue = await waitFor(async () => {
      const q = await cli.queue(entry.queueId);
      const p = q.progress ?? {};
      const step = p.current_step ?? q.current_step;
      const line = step
        ? `queue ${q.id}: step ${Math.min((p.done ?? 0) + 1, p.total ?? 0)}/${p.total ?? '?'} ${step} (${q.status})`
        : `queue ${q.id}: ${p.done ?? '?'}/${p.total ?? '?'} steps done (${q.status})`;
      if (line !== last) {
        say(line);
        last = line;
      }
      if (q.status === 'paused') say(`  paused: ${q.paused_reason}`);
      if (['completed', 'failed', 'cancelled'].includes(q.status)) return q;
      return null;
    }, { timeoutMs: remaining(), intervalMs: 60, what: `queue ${entry.queueId} to finish` });
    entry.status = queue.status;
    if (queue.status !== 'completed') say(`queue ${queue.id} ${queue.status}: ${queue.error_message ?? ''}`);
  }

  const listings = await cli.json('listings');
  let allPublished = true;
  for (const entry of queues) {
    const listing = listings.find((l) => l.product_id === entry.productId && l.platform === 'vinted');
    if (listing?.status === 'published') {
      say(`published "${entry.title}": ${listing.url}`);
    } else {
      allPublished = false;
      say(`NOT published: product ${entry.productId} is ${listing?.status ?? 'unknown'} ${listing?.error_message ?? ''}`);
    }
  }
  if (allPublished && listings[0]?.url) {
    // The seller would now look at the listing: the fake serves an item page for it.
    await browser.navigate(listings[0].url).catch(() => {});
  }

  await browser.screenshot('popup.html', SCREENSHOT, { width: 420, height: 120 });
  say(`popup screenshot: ${rel(SCREENSHOT)}`);
  say(`data: ${rel(DB)} · host log: ${rel(join(DATA, 'logs', 'stoflow-host.log'))}`);

  if (options['keep-open']) {
    say('--keep-open: Ctrl-C to stop');
    await new Promise((resolveWait) => process.once('SIGINT', resolveWait));
  }
  return allPublished && existsSync(SCREENSHOT);
}

let ok = false;
const watchdog = setTimeout(() => {
  process.stderr.write(`demo: no result after ${options['timeout-ms']} ms, giving up\n`);
  cleanup().finally(() => process.exit(1));
}, Number(options['timeout-ms']) + 15_000);
try {
  ok = await main();
} catch (error) {
  process.stderr.write(`demo failed: ${error.stack ?? error.message}\n`);
  try {
    writeFileSync(join(OUT, 'error.txt'), String(error.stack ?? error.message));
  } catch {
    // out/demo may not exist.
  }
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
say(ok ? 'demo OK' : 'demo FAILED');
await sleep(0);
process.exit(ok ? 0 : 1);
