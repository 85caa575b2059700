// The whole publish flow of the design ("Vinted publish, step by step"), through the CONNECT
// proxy as a browser would go, then update and delete.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { makeJpeg, sampleItem, VintedClient } from '../client.mjs';
import { startFakeVinted } from '../server.mjs';

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

describe('publish flow', () => {
  let fake;
  let client;

  before(async () => {
    fake = await startFakeVinted();
  });
  after(async () => {
    client?.close();
    await fake.close();
  });
  beforeEach(async () => {
    client?.close();
    fake.reset({ sessions: true });
    client = new VintedClient(fake, { via: 'proxy' });
    await client.login();
  });

  it('uploads photos byte for byte, drafts them, completes the draft and returns the item url', async () => {
    const tempUuid = randomUUID();
    // Photos with CRLFs and multipart-looking bytes inside, so a broken encoder or parser shows.
    const images = [
      makeJpeg({ width: 1200, height: 1600, payload: Buffer.from('\r\n--\r\n\r\n--boundary\r\n') }),
      makeJpeg({ width: 800, height: 600, payload: randomBytes(200_000) }),
      makeJpeg({ width: 640, height: 640, payload: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) }),
    ];
    const photos = [];
    for (const [index, bytes] of images.entries()) {
      const res = await client.uploadPhoto({ tempUuid, bytes, filename: `photo-${index}.jpg` });
      assert.equal(res.status, 200, res.text);
      photos.push(res.json());
    }
    assert.ok(photos.every((p, i) => i === 0 || p.id > photos[i - 1].id), 'photo ids increase');
    assert.ok(photos[0].id > 2 ** 32, 'ids do not fit 32 bits, like the real ones');
    assert.deepEqual(photos.map((p) => [p.width, p.height, p.temp_uuid]), [
      [1200, 1600, tempUuid], [800, 600, tempUuid], [640, 640, tempUuid],
    ]);
    for (const p of photos) assert.equal(p.url, `https://images.fake-vinted.test/${p.id}.jpg`);

    const stored = fake.photos();
    assert.deepEqual(stored.map((p) => p.id), photos.map((p) => p.id));
    stored.forEach((p, i) => {
      assert.ok(p.bytes.equals(images[i]), `photo ${i} stored byte for byte`);
      assert.equal(p.filename, `photo-${i}.jpg`);
      assert.equal(p.contentType, 'image/jpeg');
    });

    const item = sampleItem({ tempUuid, photoIds: photos.map((p) => p.id) });
    const draftRes = await client.api('POST', '/api/v2/item_upload/drafts', {
      json: { draft: item, parcel: null, upload_session_id: tempUuid },
    });
    assert.equal(draftRes.status, 200, draftRes.text);
    const { draft } = draftRes.json();
    assert.ok(Number.isSafeInteger(draft.id) && draft.id > 0);
    assert.equal(draft.title, item.title);
    assert.equal(draft.price, '27.90');
    assert.deepEqual(draft.assigned_photos, item.assigned_photos);

    const completion = await client.api('POST', `/api/v2/item_upload/drafts/${draft.id}/completion`, {
      json: { draft: { ...item, id: draft.id }, feedback_id: null, push_up: false, parcel: null, upload_session_id: tempUuid },
    });
    assert.equal(completion.status, 200, completion.text);
    const published = completion.json().item;
    assert.notEqual(published.id, draft.id, 'item ids and draft ids are different numbers');
    assert.equal(published.url, `https://www.vinted.fr/items/${published.id}-levis-501-bleu`);
    assert.equal(published.title, item.title);
    assert.deepEqual(published.photos.map((p) => p.id), photos.map((p) => p.id));

    const [storedItem] = fake.items();
    assert.equal(storedItem.id, published.id);
    assert.equal(storedItem.draftId, draft.id);
    assert.equal(fake.drafts()[0].itemId, published.id);

    // The item page exists on the site (the demo opens it).
    const page = await client.request('GET', new URL(published.url).pathname);
    assert.equal(page.status, 200);
    assert.match(page.text, /Levi&#39;s 501 bleu/);

    // Everything was recorded, in order, with what the extension sent.
    const calls = fake.received().filter((r) => r.pathname.startsWith('/api/'));
    assert.deepEqual(calls.map((r) => [r.method, r.pathname, r.status]), [
      ['POST', '/api/v2/photos', 200],
      ['POST', '/api/v2/photos', 200],
      ['POST', '/api/v2/photos', 200],
      ['POST', '/api/v2/item_upload/drafts', 200],
      ['POST', `/api/v2/item_upload/drafts/${draft.id}/completion`, 200],
    ]);
    calls.slice(0, 3).forEach((r, i) => {
      assert.deepEqual(r.multipart.fields, { 'photo[type]': 'item', 'photo[temp_uuid]': tempUuid });
      assert.equal(r.multipart.files[0].field, 'photo[file]');
      assert.equal(r.multipart.files[0].sha256, sha256(images[i]));
      assert.ok(r.multipart.files[0].bytes.equals(images[i]));
    });
    assert.deepEqual(calls[3].json.draft, item);
    for (const r of calls) {
      assert.equal(r.headers['x-csrf-token'], client.csrfToken);
      assert.equal(r.headers['x-anon-id'], client.anonId);
      assert.equal(r.headers.host, 'www.vinted.fr');
    }
    const seqs = fake.received().map((r) => r.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  });

  it('updates and deletes a published item', async () => {
    const { item, tempUuid } = await publishOne(client);
    const changed = sampleItem({ tempUuid, photoIds: item.photos.map((p) => p.id), id: item.id, title: 'Jean Levi’s 501 délavé', price: '25.00' });
    const update = await client.api('PUT', `/api/v2/item_upload/items/${item.id}`, { json: { item: changed } });
    assert.equal(update.status, 200, update.text);
    assert.equal(update.json().item.price, '25.00');
    assert.equal(update.json().item.url, `https://www.vinted.fr/items/${item.id}-jean-levis-501-delave`);
    assert.equal(fake.items()[0].updates, 1);

    const del = await client.api('POST', `/api/v2/items/${item.id}/delete`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.json(), { code: 0 });
    assert.equal(fake.items()[0].deleted, true);

    const again = await client.api('POST', `/api/v2/items/${item.id}/delete`);
    assert.equal(again.status, 404);
    const updateGone = await client.api('PUT', `/api/v2/item_upload/items/${item.id}`, { json: { item: changed } });
    assert.equal(updateGone.status, 404);
    const pageGone = await client.request('GET', `/items/${item.id}`);
    assert.equal(pageGone.status, 404);
  });

  it('answers a repeated completion with the same item instead of a duplicate', async () => {
    const { item, draftId, body } = await publishOne(client);
    const retry = await client.api('POST', `/api/v2/item_upload/drafts/${draftId}/completion`, { json: body });
    assert.equal(retry.status, 200);
    assert.equal(retry.json().item.id, item.id);
    assert.equal(fake.items().length, 1);
  });

  it('returns 404 for an unknown draft, another seller\'s draft and an unknown item', async () => {
    const { draftId, body } = await publishOne(client, { complete: false });
    const unknown = await client.api('POST', `/api/v2/item_upload/drafts/${draftId + 1}/completion`, { json: body });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().code, 404);

    const other = new VintedClient(fake, { via: 'proxy' });
    try {
      await other.login({ user: 'someone-else' });
      const foreign = await other.api('POST', `/api/v2/item_upload/drafts/${draftId}/completion`, { json: body });
      assert.equal(foreign.status, 404, 'drafts are private to their seller');
    } finally {
      other.close();
    }
    const noItem = await client.api('PUT', '/api/v2/item_upload/items/123', { json: { item: body.draft } });
    assert.equal(noItem.status, 404);
  });

  it('serves other country sites with their own item urls', async () => {
    const de = new VintedClient(fake, { via: 'proxy', hostname: 'www.vinted.de' });
    try {
      await de.login();
      const { item } = await publishOne(de);
      assert.match(item.url, /^https:\/\/www\.vinted\.de\/items\/\d+-levis-501-bleu$/);
    } finally {
      de.close();
    }
  });

  it('keeps photos usable after the seller logs in again (resumed operation)', async () => {
    const tempUuid = randomUUID();
    const photo = (await client.uploadPhoto({ tempUuid, bytes: makeJpeg() })).json();
    fake.expireSessions();
    await client.login();
    const res = await client.api('POST', '/api/v2/item_upload/drafts', {
      json: { draft: sampleItem({ tempUuid, photoIds: [photo.id] }), parcel: null, upload_session_id: tempUuid },
    });
    assert.equal(res.status, 200, res.text);
  });
});

async function publishOne(client, { complete = true } = {}) {
  const tempUuid = randomUUID();
  const photo = await client.uploadPhoto({ tempUuid, bytes: makeJpeg() });
  assert.equal(photo.status, 200, photo.text);
  const item = sampleItem({ tempUuid, photoIds: [photo.json().id] });
  const draft = await client.api('POST', '/api/v2/item_upload/drafts', {
    json: { draft: item, parcel: null, upload_session_id: tempUuid },
  });
  assert.equal(draft.status, 200, draft.text);
  const draftId = draft.json().draft.id;
  const body = { draft: item, feedback_id: null, push_up: false, parcel: null, upload_session_id: tempUuid };
  if (!complete) return { draftId, body, tempUuid };
  const completion = await client.api('POST', `/api/v2/item_upload/drafts/${draftId}/completion`, { json: body });
  assert.equal(completion.status, 200, completion.text);
  return { item: completion.json().item, draftId, body, tempUuid };
}
