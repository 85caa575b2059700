// The dashboard in real headless Chromium: publish from the page and watch
// the progress bar reach the end while the host executes the steps (a
// seed-style polling executor stands in for the extension over the HTTP API).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');
const hostBin = process.env.STOFLOW_HOST_BIN ?? join(root, 'build/release/host/stoflow-host');
const artifacts = join(root, 'out/test-artifacts');
let dir, env, serve, port, token, browser;

function png(seed) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(4 + body.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, 4 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8; ihdr[9] = 2;
  const pixels = Buffer.from([0, seed, 90, 200, 30, 60, 90, 0, 200, 40, 40, 10, 10, 10]);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]);
}

function cli(...args) {
  return execFileSync(hostBin, args, { env, encoding: 'utf8' });
}

async function api(path, options = {}) {
  const response = await fetch(`http://127.0.0.1:${port}/api${path}`, {
    ...options, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });
  return response.json();
}

// Executes every step the host hands out, like the seed's polling plugin.
function startExecutor({ failTimes = 0, delayMs = 250 } = {}) {
  let stop = false;
  let failures = 0;
  const done = (async () => {
    while (!stop) {
      const tasks = await api('/plugin/tasks?limit=10');
      for (const task of tasks) {
        await new Promise((r) => setTimeout(r, delayMs));
        const fail = failures < failTimes;
        if (fail) failures += 1;
        const result = task.step.startsWith('upload_photo_') ? { photo_id: 100 + task.id }
          : task.step === 'create_draft' ? { draft: { id: 55 } }
            : { item: { id: 9000 + task.id, url: `https://www.vinted.fr/items/${9000 + task.id}` } };
        await api(`/plugin/tasks/${task.id}/result`, {
          method: 'POST',
          body: JSON.stringify(fail ? { success: false, error_message: 'Network timeout' } : { success: true, result }),
        });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => { stop = true; await done; };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stoflow-dashboard-'));
  env = { ...process.env, STOFLOW_DB: join(dir, 'data/stoflow.db'), XDG_CONFIG_HOME: join(dir, 'config') };
  mkdirSync(join(dir, 'catalogue'));
  const products = ['Wool coat', 'Silk scarf', 'Leather boots'].map((title, i) => {
    writeFileSync(join(dir, 'catalogue', `p${i}.png`), png(i * 40));
    return {
      title, description: `A fine ${title.toLowerCase()}.`, price_cents: 1500 + i * 100, currency: 'EUR',
      images: [`p${i}.png`],
      vinted: { catalog_id: 1, brand_id: 2, status_id: 3, package_size_id: 1 },
    };
  });
  writeFileSync(join(dir, 'catalogue/products.json'), JSON.stringify(products));
  cli('products', 'import', join(dir, 'catalogue/products.json'));

  serve = spawn(hostBin, ['serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolveLine, reject) => {
    serve.stdout.once('data', (d) => resolveLine(String(d)));
    serve.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  port = Number(/127\.0\.0\.1:(\d+)/.exec(line)[1]);
  token = readFileSync(join(dir, 'config/stoflow/api-token'), 'utf8').trim();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  serve?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

async function openDashboard() {
  const url = cli('dashboard', '--no-open').trim();
  const page = await browser.newPage({ viewport: { width: 1150, height: 640 } });
  await page.goto(url);
  await page.waitForSelector('tr[data-product]');
  return page;
}

test('without the login link the page says how to open it', async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForSelector('#signed-out:not([hidden])');
  assert.match(await page.textContent('#signed-out'), /stoflow-host dashboard/);
  await page.close();
});

test('publish from the page and watch the bar reach the end', async () => {
  const page = await openDashboard();
  assert.equal(await page.locator('tr[data-product]').count(), 3);
  assert.equal(await page.locator('tr[data-product] img.thumb').count(), 3);
  await page.click('[data-testid="publish-1"]');
  const row = page.locator('tr[data-queue="1"]');
  await row.waitFor();
  const stopExecutor = startExecutor();
  // Mid-way the bar shows partial progress and the current step.
  await page.waitForFunction(() => {
    const bar = document.querySelector('tr[data-queue="1"] progress');
    return bar && Number(bar.value) >= 1 && Number(bar.value) < Number(bar.max);
  }, null, { timeout: 15000 });
  await page.waitForSelector('tr[data-queue="1"][data-status="completed"]', { timeout: 20000 });
  await stopExecutor();
  const bar = row.locator('progress');
  assert.equal(await bar.getAttribute('value'), '3');
  assert.equal(await bar.getAttribute('max'), '3');
  await page.waitForSelector('tr[data-product="1"] .status-published');
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'dashboard.png') });
  const listings = await api('/listings?product_id=1');
  assert.equal(listings[0].status, 'published');
  await page.close();
});

test('publish a selection, then retry a failed queue from the page', async () => {
  const page = await openDashboard();
  await page.check('tr[data-product="2"] input[type=checkbox]');
  await page.check('tr[data-product="3"] input[type=checkbox]');
  await page.click('#publish-selected');
  await page.waitForSelector('tr[data-queue="3"]');
  const stopFailing = startExecutor({ failTimes: 3, delayMs: 10 });
  await page.waitForSelector('tr[data-queue="2"][data-status="failed"]', { timeout: 20000 });
  await stopFailing();
  assert.match(await page.textContent('tr[data-queue="2"] .error'), /Network timeout/);
  await page.click('[data-testid="retry-2"]');
  const stop = startExecutor({ delayMs: 10 });
  await page.waitForSelector('tr[data-queue="2"][data-status="completed"]', { timeout: 20000 });
  await page.waitForSelector('tr[data-queue="3"][data-status="completed"]', { timeout: 20000 });
  await stop();
  await page.close();
});
