// Work queued from the command line while the browser is already running, idle, starts on its
// own: the host sees the database change and tells the extension (tasks.available).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSERS, product, sleep, waitFor, withWorld, World } from './lib/world.mjs';

// Longer than the 30 s after which browsers stop an idle extension background, so the test
// also proves the open native port keeps it (and so the host) alive. STOFLOW_E2E_IDLE_MS
// shortens it while working on the tests.
const IDLE_MS = Number(process.env.STOFLOW_E2E_IDLE_MS ?? 35_000);

for (const browser of BROWSERS) {
  test(`${browser}: a product queued from the CLI while the browser idles starts with no user action`, { timeout: 150_000 }, async () => {
    await withWorld({ browser }, async (world) => {
      const hostsBefore = world.hostPids();
      assert.equal(hostsBefore.length, 1, 'the extension started one host');
      const sentBefore = world.apiRequests().length;
      await sleep(IDLE_MS);
      assert.deepEqual(world.hostPids(), hostsBefore, 'the same host is still connected after the idle time');
      assert.equal(world.apiRequests().length, sentBefore, 'nothing was sent while idle');

      const photos = World.threePhotos();
      const [productId] = await world.importProducts([product({ images: photos.images })], photos.files);
      const queuedAt = Date.now();
      const queueId = await world.publish(productId);

      // Nobody touches the browser: the first upload must come by itself, promptly.
      await waitFor(() => world.apiRequests().some((r) => r.pathname === '/api/v2/photos'), {
        timeoutMs: 10_000, intervalMs: 50, what: 'the first photo upload', describe: () => world.describe(queueId),
      });
      const startedAfterMs = Date.now() - queuedAt;
      await world.waitForQueue(queueId, 'completed', { timeoutMs: 30_000 });
      assert.ok(startedAfterMs < 10_000, `started ${startedAfterMs} ms after the CLI queued it`);
      const listing = await world.cli.listing(productId);
      assert.equal(listing.status, 'published');
      assert.equal(listing.url, world.fake.items()[0].url);
      assert.deepEqual(world.hostPids(), hostsBefore, 'served by the host that was already running');
    });
  });
}
