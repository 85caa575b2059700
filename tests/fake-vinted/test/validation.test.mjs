// What the fake refuses in photo uploads and ITEM bodies, and how (Vinted's error format).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { buildMultipart, makeJpeg, sampleItem, VintedClient } from '../client.mjs';
import { startFakeVinted } from '../server.mjs';

describe('validation', () => {
  let fake;
  let client;
  let tempUuid;
  let photoIds;

  before(async () => { fake = await startFakeVinted(); });
  after(async () => { client?.close(); await fake.close(); });
  beforeEach(async () => {
    client?.close();
    fake.reset({ sessions: true });
    client = new VintedClient(fake);
    await client.login();
    tempUuid = randomUUID();
    photoIds = [];
    for (let i = 0; i < 2; i += 1) photoIds.push((await client.uploadPhoto({ tempUuid, bytes: makeJpeg() })).json().id);
  });

  const draft = (item, extra = {}) => client.api('POST', '/api/v2/item_upload/drafts', {
    json: { draft: item, parcel: null, upload_session_id: tempUuid, ...extra },
  });

  function fieldsOf(res) {
    assert.equal(res.status, 422, res.text);
    const body = res.json();
    assert.equal(body.code, 99);
    assert.ok(body.errors.every((e) => typeof e.field === 'string' && typeof e.value === 'string'));
    return body.errors.map((e) => e.field).sort();
  }

  describe('photo upload', () => {
    const upload = (parts) => client.api('POST', '/api/v2/photos', { multipart: buildMultipart(parts) });
    const file = (data = makeJpeg()) => ({ name: 'photo[file]', filename: 'a.jpg', contentType: 'image/jpeg', data });

    it('requires photo[type]=item and a UUID temp_uuid', async () => {
      const res = await upload([{ name: 'photo[type]', value: 'avatar' }, { name: 'photo[temp_uuid]', value: '42' }, file()]);
      assert.deepEqual(fieldsOf(res), ['photo[temp_uuid]', 'photo[type]']);
    });

    it('requires the image as a file part', async () => {
      const base = [{ name: 'photo[type]', value: 'item' }, { name: 'photo[temp_uuid]', value: tempUuid }];
      const missing = await upload(base);
      assert.deepEqual(fieldsOf(missing), ['photo[file]']);
      const asField = await upload([...base, { name: 'photo[file]', value: 'photos/levis-1.jpg' }]);
      assert.match(asField.json().errors[0].value, /file part/);
      const empty = await upload([...base, file(Buffer.alloc(0))]);
      assert.match(empty.json().errors[0].value, /empty/);
    });

    it('refuses bytes that are not an image (e.g. base64 text)', async () => {
      const res = await upload([
        { name: 'photo[type]', value: 'item' }, { name: 'photo[temp_uuid]', value: tempUuid },
        file(Buffer.from(makeJpeg().toString('base64'))),
      ]);
      assert.deepEqual(fieldsOf(res), ['photo[file]']);
    });

    it('answers 400 to a body that is not multipart or is truncated', async () => {
      const json = await client.api('POST', '/api/v2/photos', { json: { photo: {} } });
      assert.equal(json.status, 400);
      assert.equal(json.json().code, 99);
      const { body, contentType } = buildMultipart([{ name: 'photo[type]', value: 'item' }]);
      const truncated = await client.api('POST', '/api/v2/photos', {
        multipart: { body: body.subarray(0, body.length - 10), contentType },
      });
      assert.equal(truncated.status, 400);
      assert.match(truncated.json().message, /closing boundary/);
      assert.match(fake.received().at(-1).bodyError, /closing boundary/);
    });

    it('answers 413 above maxBodyBytes', async () => {
      const small = await startFakeVinted({ maxBodyBytes: 1024 });
      const c = new VintedClient(small);
      try {
        await c.login();
        const res = await c.uploadPhoto({ tempUuid, bytes: makeJpeg({ payload: Buffer.alloc(4096) }) });
        assert.equal(res.status, 413);
      } finally {
        c.close();
        await small.close();
      }
    });
  });

  describe('draft', () => {
    it('accepts the sample item', async () => {
      assert.equal((await draft(sampleItem({ tempUuid, photoIds }))).status, 200);
    });

    it('refuses a price that is not a decimal string', async () => {
      for (const price of [27.9, 2790, '27,90', '27.905', '-1.00', '0.00', '', null]) {
        const res = await draft(sampleItem({ tempUuid, photoIds, price }));
        assert.deepEqual(fieldsOf(res), ['price'], `price ${JSON.stringify(price)}`);
      }
      for (const price of ['27.90', '27.9', '27', '1500.00']) {
        assert.equal((await draft(sampleItem({ tempUuid, photoIds, price }))).status, 200, `price ${price}`);
      }
    });

    it('lists every invalid or missing field at once', async () => {
      const item = sampleItem({
        tempUuid: 'not-a-uuid', photoIds, id: 5, currency: 'eur', title: '  ', brand_id: '53', size_id: 0,
        catalog_id: null, status_id: 1.5, package_size_id: undefined, color_ids: 12, is_unisex: 'false', item_attributes: {},
      });
      delete item.description;
      assert.deepEqual(fieldsOf(await draft(item)), [
        'brand_id', 'catalog_id', 'color_ids', 'currency', 'description', 'id', 'is_unisex', 'item_attributes',
        'package_size_id', 'size_id', 'status_id', 'temp_uuid', 'title',
      ]);
    });

    it('accepts null brand_id and size_id, and an empty color list', async () => {
      const res = await draft(sampleItem({ tempUuid, photoIds, brand_id: null, size_id: null, color_ids: [] }));
      assert.equal(res.status, 200, res.text);
    });

    it('requires id: null to be present', async () => {
      const item = sampleItem({ tempUuid, photoIds });
      delete item.id;
      assert.deepEqual(fieldsOf(await draft(item)), ['id']);
    });

    it('checks assigned photos: present, uploaded by this seller, once each, orientation 0', async () => {
      assert.deepEqual(fieldsOf(await draft(sampleItem({ tempUuid, photoIds: [] }))), ['assigned_photos']);
      assert.deepEqual(fieldsOf(await draft(sampleItem({ tempUuid, photoIds: [photoIds[0], 1] }))), ['assigned_photos[1].id']);
      assert.deepEqual(fieldsOf(await draft(sampleItem({ tempUuid, photoIds: [photoIds[0], photoIds[0]] }))), ['assigned_photos[1].id']);
      const rotated = sampleItem({ tempUuid, photoIds });
      rotated.assigned_photos[0].orientation = 90;
      assert.deepEqual(fieldsOf(await draft(rotated)), ['assigned_photos[0].orientation']);
      const asNumbers = sampleItem({ tempUuid, photoIds });
      asNumbers.assigned_photos = photoIds;
      assert.deepEqual(fieldsOf(await draft(asNumbers)), ['assigned_photos[0]', 'assigned_photos[1]']);

      const other = new VintedClient(fake);
      try {
        await other.login({ user: 'someone-else' });
        const res = await other.api('POST', '/api/v2/item_upload/drafts', {
          json: { draft: sampleItem({ tempUuid, photoIds }), parcel: null, upload_session_id: tempUuid },
        });
        assert.deepEqual(fieldsOf(res), ['assigned_photos[0].id', 'assigned_photos[1].id']);
      } finally {
        other.close();
      }
    });

    it('checks the envelope: upload_session_id, parcel, JSON content type, draft object', async () => {
      assert.deepEqual(fieldsOf(await draft(sampleItem({ tempUuid, photoIds }), { upload_session_id: undefined })), ['upload_session_id']);
      assert.deepEqual(fieldsOf(await draft(sampleItem({ tempUuid, photoIds }), { parcel: 'none' })), ['parcel']);
      const notJson = await client.api('POST', '/api/v2/item_upload/drafts', {
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
      });
      assert.equal(notJson.status, 400);
      const noDraft = await client.api('POST', '/api/v2/item_upload/drafts', { json: { item: {} } });
      assert.equal(noDraft.status, 400);
      assert.match(noDraft.json().message, /"draft" must be an object/);
      const badJson = await client.api('POST', '/api/v2/item_upload/drafts', {
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(badJson.status, 400);
      assert.equal(fake.drafts().length, 0);
    });

    it('checks the completion body and the id it carries', async () => {
      const item = sampleItem({ tempUuid, photoIds });
      const draftId = (await draft(item)).json().draft.id;
      const complete = (body) => client.api('POST', `/api/v2/item_upload/drafts/${draftId}/completion`, { json: body });
      const base = { draft: item, feedback_id: null, push_up: false, parcel: null, upload_session_id: tempUuid };
      assert.deepEqual(fieldsOf(await complete({ ...base, push_up: 'no' })), ['push_up']);
      assert.deepEqual(fieldsOf(await complete({ ...base, draft: { ...item, id: draftId + 1 } })), ['id']);
      assert.deepEqual(fieldsOf(await complete({ ...base, draft: { ...item, price: 27.9 } })), ['price']);
      assert.equal(fake.items().length, 0);
      assert.equal((await complete({ ...base, draft: { ...item, id: draftId } })).status, 200);
    });
  });
});
