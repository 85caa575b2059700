// A product with three photos (one over 1 MiB) imported and published from the command line,
// executed by the real extension in a real browser against the fake Vinted.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROWSERS, product, withWorld, World } from './lib/world.mjs';

for (const browser of BROWSERS) {
  test(`${browser}: publishing a product with 3 photos sends them byte for byte, then the draft, then the completion`, { timeout: 120_000 }, async () => {
    await withWorld({ browser }, async (world) => {
      const photos = World.threePhotos();
      assert.ok(photos.sizes[1] > 1024 * 1024, 'the second photo is over 1 MiB');
      const [productId] = await world.importProducts([product({ images: photos.images })], photos.files);
      const queueId = await world.publish(productId);

      const queue = await world.waitForQueue(queueId, 'completed', { timeoutMs: 45_000 });
      assert.equal(queue.progress.done, queue.progress.total);

      const api = world.apiRequests();
      assert.deepEqual(api.map((r) => `${r.method} ${r.pathname.replace(/\/\d+\//g, '/N/')} ${r.status}`), [
        'POST /api/v2/photos 200',
        'POST /api/v2/photos 200',
        'POST /api/v2/photos 200',
        'POST /api/v2/item_upload/drafts 200',
        'POST /api/v2/item_upload/drafts/N/completion 200',
      ]);

      // The photos, byte for byte and in order, in one upload session.
      const uploads = api.slice(0, 3);
      const tempUuids = new Set();
      uploads.forEach((upload, i) => {
        assert.equal(upload.multipart?.files?.length, 1, `upload ${i + 1} carries one file`);
        const [file] = upload.multipart.files;
        assert.equal(file.field, 'photo[file]');
        assert.equal(file.size, photos.sizes[i], `photo ${i + 1} size`);
        assert.equal(file.sha256, photos.hashes[i], `photo ${i + 1} sha256`);
        assert.equal(upload.multipart.fields['photo[type]'], 'item');
        tempUuids.add(upload.multipart.fields['photo[temp_uuid]']);
        // The extension adds the site's anti-forgery headers, not the host.
        assert.ok(upload.headers['x-csrf-token'], 'X-CSRF-Token sent');
        assert.ok(upload.headers['x-anon-id'], 'X-Anon-Id sent');
      });
      assert.equal(tempUuids.size, 1, 'one temp_uuid for the whole operation');

      const stored = world.fake.photos();
      assert.deepEqual(stored.map((p) => p.sha256), photos.hashes, 'the fake stored the three photos in order');
      const photoIds = stored.map((p) => p.id);

      // The draft names those photos, in the same order.
      const draftRequest = api[3];
      assert.deepEqual(draftRequest.json.draft.assigned_photos, photoIds.map((id) => ({ id, orientation: 0 })));
      assert.equal(draftRequest.json.draft.temp_uuid, [...tempUuids][0]);
      const [draft] = world.fake.drafts();
      assert.deepEqual(draft.item.assigned_photos.map((p) => p.id), photoIds);
      assert.equal(draft.itemId, world.fake.items()[0]?.id, 'the draft was completed');

      // The completion is for that draft, and the listing carries the item the fake created.
      assert.equal(api[4].pathname, `/api/v2/item_upload/drafts/${draft.id}/completion`);
      const items = world.fake.items();
      assert.equal(items.length, 1, 'exactly one item created');
      const [item] = items;
      const listing = await world.cli.listing(productId);
      assert.equal(listing.status, 'published');
      assert.equal(String(listing.remote_id), String(item.id));
      assert.equal(listing.url, item.url);
      assert.match(listing.url, /^https:\/\/www\.vinted\.fr\/items\/\d+-/);
    });
  });
}
