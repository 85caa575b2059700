// The Vinted session expires in the middle of a queue: the queue pauses without burning a retry,
// and goes on once the seller has logged in again.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSERS, product, withWorld, World } from './lib/world.mjs';

for (const browser of BROWSERS) {
  test(`${browser}: a 401 on the 2nd photo pauses the queue; after a new login it completes`, { timeout: 120_000 }, async () => {
    await withWorld({ browser }, async (world) => {
      const photos = World.threePhotos();
      const [productId] = await world.importProducts([product({ images: photos.images })], photos.files);
      // The session dies while the second photo is uploaded: 401 {"code": 100}.
      world.fake.inject({ method: 'POST', pathPattern: '^/api/v2/photos$', afterMatches: 1, times: 1, expireSession: true });
      const queueId = await world.publish(productId);

      const paused = await world.waitForQueue(queueId, 'paused', { timeoutMs: 30_000 });
      assert.ok(paused.paused_reason, 'the queue says why it is paused');
      assert.equal(paused.retry_count, 0, 'the queue spent no retry');
      const photo2 = paused.tasks.find((t) => t.step === 'upload_photo_2');
      assert.ok(photo2, 'the 2nd photo step exists');
      assert.equal(photo2.retry_count, 0, 'the task spent no retry on a session expiry');
      assert.notEqual(photo2.status, 'failed');
      assert.equal(paused.tasks.find((t) => t.step === 'upload_photo_1')?.status, 'success');
      assert.equal(world.fake.photos().length, 1, 'only the 1st photo was stored');

      // It stays paused: nothing is sent while the seller is logged out.
      const sentWhilePaused = world.apiRequests().length;
      await new Promise((done) => setTimeout(done, 1500));
      assert.equal((await world.cli.queue(queueId)).status, 'paused');
      assert.equal(world.apiRequests().length, sentWhilePaused, 'no request while paused');

      // The seller logs in again in the same browser; the extension notices the new session
      // cookie and resumes the queue by itself.
      await world.login();
      const done = await world.waitForQueue(queueId, 'completed', { timeoutMs: 30_000 });
      assert.equal(done.tasks.find((t) => t.step === 'upload_photo_2')?.retry_count, 0);

      const stored = world.fake.photos();
      assert.deepEqual(stored.map((p) => p.sha256), photos.hashes, 'each photo stored once, in order');
      const [draft] = world.fake.drafts();
      assert.deepEqual(draft.item.assigned_photos.map((p) => p.id), stored.map((p) => p.id));
      const listing = await world.cli.listing(productId);
      assert.equal(listing.status, 'published');
      assert.equal(listing.url, world.fake.items()[0].url);
    });
  });
}
