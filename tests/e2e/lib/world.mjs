// One throw-away world per test: a temp directory with a HOME, a browser profile and a data dir,
// the fake Vinted, the host registered with the REAL installer, and one real browser running the
// unpacked extension. close() always stops the browser, every host it started and the fake.
//
//   await withWorld({ browser: 'chromium' }, async (world) => {
//     const [productId] = await world.importProducts([product({ images })], files);
//     await world.waitForQueue(await world.publish(productId), 'completed');
//   });
//
// Environment: STOFLOW_HOST_BIN (the host; default build/release), STOFLOW_E2E_BROWSERS
// (default "chromium,firefox"), STOFLOW_E2E_KEEP=1 (keep the temp dirs), STOFLOW_E2E_EXTENSION_DIR
// (test a modified copy of the extension).

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeVinted } from '../../fake-vinted/server.mjs';
import { launchChromium, launchFirefox } from './browsers.mjs';
import { HostCli, killPids, nativeHostPids } from './host.mjs';
import { makePng, sha256 } from './images.mjs';
import { trackDir, trackHosts, untrackDir, untrackHosts } from './reaper.mjs';
import { EXTENSION_DIR, hostBinary, INSTALLER, makeTempDir, runOk, sleep, waitFor } from './util.mjs';

export const BROWSERS = (process.env.STOFLOW_E2E_BROWSERS || 'chromium,firefox').split(',').map((b) => b.trim()).filter(Boolean);
export const LOGIN_URL = 'https://www.vinted.fr/member/login?auto=1';

/** A product as the import file takes it; `images` are paths relative to the import file. */
export function product({ title = 'Levi\'s 501 W32 L32', images, price_cents = 2790, ...rest } = {}) {
  return {
    title,
    description: 'Straight fit, stone wash. Worn a few times, no marks. Smoke-free home.',
    price_cents,
    currency: 'EUR',
    images,
    vinted: { catalog_id: 1839, brand_id: 53, size_id: 207, status_id: 2, color_ids: [9], package_size_id: 2 },
    ...rest,
  };
}

/**
 * @param {object} options
 * @param {'chromium'|'firefox'} options.browser
 * @param {boolean} [options.login=true]     log the browser in to the fake Vinted
 * @param {object}  [options.hostEnv]        extra environment for the host the browser starts
 */
export async function createWorld({ browser, login = true, hostEnv = {} }) {
  const world = new World(browser);
  try {
    await world.start({ login, hostEnv });
  } catch (error) {
    await world.close({ failed: true });
    throw error;
  }
  return world;
}

class World {
  constructor(browserName) {
    this.browserName = browserName;
    this.root = makeTempDir(`stoflow-e2e-${browserName}-`);
    trackDir(this.root);
    this.home = join(this.root, 'home');
    this.profileDir = join(this.root, 'profile');
    this.dataDir = join(this.root, 'data');
    this.db = join(this.dataDir, 'stoflow.db');
    this.hostLog = join(this.dataDir, 'logs', 'stoflow-host.log');
    this.productsDir = join(this.root, 'products');
    for (const dir of [this.home, this.profileDir, this.dataDir, this.productsDir]) mkdirSync(dir, { recursive: true });
    this.hostBin = hostBinary();
    this.fake = null;
    this.browser = null;
    this.closed = null;
  }

  async start({ login, hostEnv }) {
    this.fake = await startFakeVinted({ stateDir: join(this.root, 'fake-vinted') });
    // The browser's environment is the host's: it starts the host and the host inherits it.
    this.env = {
      ...process.env,
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      XDG_DATA_HOME: join(this.home, '.local', 'share'),
      XDG_CACHE_HOME: join(this.home, '.cache'),
      STOFLOW_DB: this.db,
      STOFLOW_LOG_LEVEL: 'debug',
      ...hostEnv,
    };
    delete this.env.STOFLOW_EXTRA_ORIGINS;
    this.cli = new HostCli({ bin: this.hostBin, db: this.db, env: this.env });
    trackHosts({ bin: this.hostBin, db: this.db });
    await this.registerHost();
    // STOFLOW_E2E_EXTENSION_DIR: run the suite against a modified copy of the extension (to check
    // that a test fails when the behaviour it guards is broken).
    const extensionDir = process.env.STOFLOW_E2E_EXTENSION_DIR || EXTENSION_DIR;
    if (this.browserName === 'chromium') {
      this.browser = await launchChromium({ profileDir: this.profileDir, fake: this.fake, env: this.env, extensionDir });
    } else if (this.browserName === 'firefox') {
      this.browser = await launchFirefox({ profileDir: this.profileDir, fake: this.fake, env: this.env, logDir: this.root, extensionDir });
    } else {
      throw new Error(`unknown browser ${this.browserName}`);
    }
    await this.waitConnected();
    if (login) await this.login();
  }

  /** The real installer, writing only into this world's HOME and browser profile. */
  async registerHost() {
    const args = ['--host', this.hostBin, '--quiet'];
    if (this.browserName === 'chromium') args.push('--browser', 'chromium', '--chrome-user-data-dir', this.profileDir);
    else args.push('--browser', 'firefox');
    await runOk(INSTALLER, args, { env: { ...this.env, HOME: this.home } });
    const manifest = this.browserName === 'chromium'
      ? join(this.profileDir, 'NativeMessagingHosts', 'com.stoflow.companion.json')
      : join(this.home, '.mozilla', 'native-messaging-hosts', 'com.stoflow.companion.json');
    if (!existsSync(manifest)) throw new Error(`the installer did not write ${manifest}`);
    this.hostManifest = manifest;
  }

  async waitConnected({ timeoutMs = 20_000 } = {}) {
    await waitFor(async () => (await this.browser.connectionState()) === 'connected', {
      timeoutMs,
      intervalMs: 300,
      what: `the ${this.browserName} extension to connect to the host`,
      describe: async () => `state=${await this.browser.connectionState().catch((e) => e.message)} hosts=${this.hostPids()}\n${this.hostLogTail()}`,
    });
  }

  /** Logs the browser in the way a seller does: by opening Vinted's login page. */
  async login() {
    const before = this.fake.sessions().length;
    await this.browser.navigate(LOGIN_URL);
    await waitFor(() => this.fake.sessions().length > before, { timeoutMs: 10_000, what: 'a new Vinted session' });
  }

  // Products and queues ----------------------------------------------------------------------

  /**
   * Writes the photos (name → bytes) and the import file, imports it with the CLI and returns
   * the product ids.
   */
  async importProducts(products, photos = {}) {
    mkdirSync(join(this.productsDir, 'photos'), { recursive: true });
    for (const [name, bytes] of Object.entries(photos)) writeFileSync(join(this.productsDir, 'photos', name), bytes);
    const file = join(this.productsDir, `products-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(products, null, 2));
    return this.cli.importProducts(file);
  }

  /** Three PNG photos (the second one over 1 MiB) with their sha256, ready for importProducts. */
  static threePhotos(tag = 'p') {
    const files = {
      [`${tag}-front.png`]: makePng({ width: 320, height: 240, seed: 1 }),
      [`${tag}-back.png`]: makePng({ width: 700, height: 560, noise: true }), // ≈ 1.18 MB
      [`${tag}-label.png`]: makePng({ width: 160, height: 120, seed: 2 }),
    };
    const names = Object.keys(files);
    return {
      files,
      images: names.map((name) => `photos/${name}`),
      hashes: names.map((name) => sha256(files[name])),
      sizes: names.map((name) => files[name].length),
    };
  }

  /** `stoflow-host publish vinted ID` → the queue id. */
  async publish(productId) {
    this.lastQueueId = await this.cli.publish(productId);
    return this.lastQueueId;
  }

  /** Waits for the queue to reach one of `statuses` (a string or an array); returns the queue. */
  async waitForQueue(queueId, statuses, { timeoutMs = 30_000 } = {}) {
    const wanted = [statuses].flat();
    return waitFor(async () => {
      const queue = await this.cli.queue(queueId);
      if (!wanted.includes(queue.status) && ['failed', 'cancelled', 'completed'].includes(queue.status)) {
        throw Object.assign(new Error(`queue ${queueId} ended ${queue.status}: ${queue.error_message}`), { final: true, queue });
      }
      return wanted.includes(queue.status) ? queue : null;
    }, {
      timeoutMs,
      intervalMs: 200,
      what: `queue ${queueId} to become ${wanted.join(' or ')}`,
      describe: () => this.describe(queueId),
    });
  }

  async describe(queueId) {
    const parts = [];
    if (queueId !== undefined) {
      try {
        const q = await this.cli.queue(queueId);
        parts.push(`queue: status=${q.status} step=${q.current_step} progress=${JSON.stringify(q.progress)} error=${q.error_message} paused=${q.paused_reason}`);
        for (const t of q.tasks ?? []) parts.push(`  task ${t.id} ${t.step} ${t.status} retries=${t.retry_count} ${t.error_message ?? ''}`);
      } catch (error) {
        parts.push(`queue unavailable: ${error.message}`);
      }
    }
    parts.push(`host pids: ${this.hostPids().join(',') || 'none'}`);
    parts.push(`fake received: ${this.fake.received().map((r) => `${r.method} ${r.pathname} ${r.status ?? '…'}`).join(' | ')}`);
    parts.push(this.hostLogTail());
    return parts.join('\n');
  }

  hostLogTail(lines = 25) {
    try {
      return `host log (last ${lines} lines):\n${readFileSync(this.hostLog, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`;
    } catch {
      return 'host log: none';
    }
  }

  /** Requests the fake site received under /api/v2 (the Vinted API), in arrival order. */
  apiRequests() {
    return this.fake.received().filter((r) => r.pathname.startsWith('/api/'));
  }

  // Processes -------------------------------------------------------------------------------

  hostPids() {
    return nativeHostPids({ bin: this.hostBin, db: this.db });
  }

  async close({ failed = false } = {}) {
    this.closed ??= (async () => {
      try {
        await this.browser?.close();
      } finally {
        // The hosts see their stdin close when the browser goes; give them a moment, then make sure.
        await waitFor(() => this.hostPids().length === 0, { timeoutMs: 3_000, intervalMs: 100 }).catch(() => {});
        killPids(this.hostPids());
        untrackHosts({ db: this.db });
        await this.fake?.close();
        untrackDir(this.root);
        if (process.env.STOFLOW_E2E_KEEP || failed) {
          process.stderr.write(`e2e: kept ${this.root}\n`);
        } else {
          rmSync(this.root, { recursive: true, force: true });
        }
      }
    })();
    return this.closed;
  }
}

/**
 * Runs `body(world)` in a fresh world and always closes it. On failure the world's state (queue,
 * host log, what the fake received) is printed and its directory kept for a post-mortem.
 */
export async function withWorld(options, body) {
  const world = await createWorld(options);
  let failed = true;
  try {
    await body(world);
    failed = false;
  } catch (error) {
    process.stderr.write(`\n--- ${options.browser} world state at failure ---\n${await world.describe(world.lastQueueId)}\n`);
    throw error;
  } finally {
    await world.close({ failed });
  }
}

export { World, sleep, waitFor, EXTENSION_DIR };
