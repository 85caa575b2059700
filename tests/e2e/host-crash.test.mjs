// The host process is killed (SIGKILL) while a photo upload is in flight: the extension
// reconnects on its own (back-off from 1 s), the step's lease is recovered, and the publication
// completes with every photo in the draft.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { killPids } from './lib/host.mjs';
import { BROWSERS, product, waitFor, withWorld, World } from './lib/world.mjs';

for (const browser of BROWSERS) {
  test(`${browser}: the host killed mid-upload is restarted by the extension and the queue completes`, { timeout: 120_000 }, async () => {
    await withWorld({ browser }, async (world) => {
      const photos = World.threePhotos();
      const [productId] = await world.importProducts([product({ images: photos.images })], photos.files);
      // The 2nd photo upload takes 4 s to answer: long enough to kill the host meanwhile.
      world.fake.inject({ method: 'POST', pathPattern: '^/api/v2/photos$', afterMatches: 1, times: 1, delayMs: 4000 });
      const queueId = await world.publish(productId);

      // Wait until that upload is in flight (received, not answered yet).
      await waitFor(() => {
        const uploads = world.apiRequests().filter((r) => r.pathname === '/api/v2/photos');
        return uploads.length === 2 && uploads[1].status === null;
      }, { timeoutMs: 30_000, intervalMs: 50, what: 'the 2nd photo upload to be in flight', describe: () => world.describe(queueId) });

      const [victim, ...others] = world.hostPids();
      assert.ok(victim, 'a native host is serving our database');
      assert.deepEqual(others, [], 'exactly one native host');
      killPids([victim], 'SIGKILL');
      await waitFor(() => !world.hostPids().includes(victim), { timeoutMs: 5_000, intervalMs: 50, what: 'the killed host to go' });

      // The extension starts a new host by itself (no user action) and the queue completes.
      const successor = await waitFor(() => world.hostPids().find((pid) => pid !== victim), {
        timeoutMs: 15_000, intervalMs: 100, what: 'the extension to start a new host', describe: () => world.describe(queueId),
      });
      assert.notEqual(successor, victim);
      await world.waitForQueue(queueId, 'completed', { timeoutMs: 45_000 });

      // No photo missing from the final draft, in order. The interrupted upload may have been
      // stored twice by the site (its answer was lost with the host); the draft uses one of them.
      const byId = new Map(world.fake.photos().map((p) => [p.id, p]));
      const drafts = world.fake.drafts();
      assert.equal(drafts.length, 1, 'one draft');
      const assigned = drafts[0].item.assigned_photos.map((p) => byId.get(p.id));
      assert.equal(assigned.length, 3, 'three photos in the draft');
      assert.deepEqual(assigned.map((p) => p?.sha256), photos.hashes, 'the draft has every photo, in order');
      const listing = await world.cli.listing(productId);
      assert.equal(listing.status, 'published');
      assert.equal(world.fake.items().length, 1, 'published once');
      assert.equal(listing.url, world.fake.items()[0].url);
    });
  });
}
