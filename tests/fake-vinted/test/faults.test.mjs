// Each fault kind, matching (method, pathPattern, times, afterMatches) and the control endpoint.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { makeJpeg, sampleItem, VintedClient } from '../client.mjs';
import { FaultError } from '../lib/faults.mjs';
import { startFakeVinted } from '../server.mjs';

const PHOTOS = '^/api/v2/photos$';
const DRAFTS = '^/api/v2/item_upload/drafts$';

describe('fault injection', () => {
  let fake;
  let client;
  let tempUuid;

  before(async () => { fake = await startFakeVinted(); });
  after(async () => { client?.close(); await fake.close(); });
  beforeEach(async () => {
    client?.close();
    fake.reset({ sessions: true });
    client = new VintedClient(fake, { via: 'proxy' });
    await client.login();
    tempUuid = randomUUID();
  });

  const upload = () => client.uploadPhoto({ tempUuid, bytes: makeJpeg() });
  const postDraft = (photoIds) => client.api('POST', '/api/v2/item_upload/drafts', {
    json: { draft: sampleItem({ tempUuid, photoIds }), parcel: null, upload_session_id: tempUuid },
  });

  it('status: answers the given status and JSON once, then lets requests through', async () => {
    fake.inject({ method: 'POST', pathPattern: PHOTOS, status: 500, json: { code: 0, message: 'boom' } });
    const failed = await upload();
    assert.equal(failed.status, 500);
    assert.deepEqual(failed.json(), { code: 0, message: 'boom' });
    assert.equal(fake.photos().length, 0, 'the injected failure did not store anything');
    assert.equal((await upload()).status, 200);
    const records = fake.received().filter((r) => r.pathname === '/api/v2/photos');
    assert.deepEqual(records.map((r) => [r.status, r.fault?.action ?? null]), [[500, 'status'], [200, null]]);
  });

  it('status without a body answers a default JSON body', async () => {
    fake.inject({ pathPattern: PHOTOS, status: 503 });
    const res = await upload();
    assert.equal(res.status, 503);
    assert.equal(res.json().code, 503);
  });

  it('honours method, pathPattern, afterMatches and times', async () => {
    fake.inject({ method: 'GET', pathPattern: PHOTOS, status: 500, times: 5 }); // never matches a POST
    fake.inject({ method: 'POST', pathPattern: PHOTOS, status: 502, afterMatches: 1, times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await upload()).status);
    assert.deepEqual(statuses, [200, 502, 502, 200]);
    assert.equal((await client.request('GET', '/')).status, 200, 'other paths are untouched');
    const [getRule, postRule] = fake.faults();
    assert.deepEqual([getRule.seen, getRule.fired], [0, 0]);
    assert.deepEqual([postRule.seen, postRule.fired, postRule.remaining], [4, 2, 0]);
  });

  it('counts a request for every matching rule; the oldest eligible rule fires', async () => {
    fake.inject({ pathPattern: PHOTOS, status: 500 });
    fake.inject({ pathPattern: PHOTOS, status: 501, afterMatches: 1 });
    fake.inject({ pathPattern: PHOTOS, status: 502 });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await upload()).status);
    // 1st: rule 1; 2nd: rule 2 (its 2nd match); 3rd: rule 3 (its 3rd match, still unfired); 4th: none.
    assert.deepEqual(statuses, [500, 501, 502, 200]);
  });

  it('delayMs: answers normally, late', async () => {
    fake.inject({ pathPattern: PHOTOS, delayMs: 300 });
    const start = Date.now();
    const res = await upload();
    assert.equal(res.status, 200);
    assert.ok(Date.now() - start >= 290, `took ${Date.now() - start} ms`);
    const fast = Date.now();
    await upload();
    assert.ok(Date.now() - fast < 290);
  });

  it('delayMs combines with an action', async () => {
    fake.inject({ pathPattern: PHOTOS, delayMs: 200, status: 504 });
    const start = Date.now();
    assert.equal((await upload()).status, 504);
    assert.ok(Date.now() - start >= 190);
  });

  it('html: a 200 text/html challenge page where JSON was expected', async () => {
    fake.inject({ pathPattern: PHOTOS, html: true });
    const res = await upload();
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    assert.match(res.text, /captcha-delivery\.com/);
    assert.throws(() => res.json(), SyntaxError);
    assert.equal(fake.photos().length, 0);
  });

  it('html: custom page and status', async () => {
    fake.inject({ pathPattern: PHOTOS, html: '<html>blocked</html>', status: 403 });
    const res = await upload();
    assert.equal(res.status, 403);
    assert.equal(res.text, '<html>blocked</html>');
  });

  it('rateLimit: 429 with Retry-After', async () => {
    fake.inject({ pathPattern: PHOTOS, rateLimit: 7 });
    fake.inject({ pathPattern: DRAFTS, rateLimit: true });
    const res = await upload();
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '7');
    const draft = await postDraft([1]);
    assert.equal(draft.status, 429);
    assert.equal(draft.headers['retry-after'], '1');
  });

  it('dropAfterCreate: creates the draft, then cuts the connection without an answer', async () => {
    const photoId = (await upload()).json().id;
    fake.inject({ method: 'POST', pathPattern: DRAFTS, dropAfterCreate: true });
    await assert.rejects(postDraft([photoId]), (error) => ['ECONNRESET', 'EPIPE'].includes(error.code) || /socket hang up/.test(error.message));
    assert.equal(fake.drafts().length, 1, 'the draft exists although the client never heard of it');
    const record = fake.received().find((r) => r.pathname === '/api/v2/item_upload/drafts');
    assert.equal(record.dropped, true);
    assert.equal(record.status, null);
    // A retry makes a second (orphan) draft, as the real site would.
    assert.equal((await postDraft([photoId])).status, 200);
    assert.equal(fake.drafts().length, 2);
  });

  it('dropAfterCreate on completion: the item exists, and the retried completion returns it', async () => {
    const photoId = (await upload()).json().id;
    const draftId = (await postDraft([photoId])).json().draft.id;
    fake.inject({ pathPattern: '/completion$', dropAfterCreate: true });
    const body = { draft: sampleItem({ tempUuid, photoIds: [photoId] }), feedback_id: null, push_up: false, parcel: null, upload_session_id: tempUuid };
    const complete = () => client.api('POST', `/api/v2/item_upload/drafts/${draftId}/completion`, { json: body });
    await assert.rejects(complete());
    assert.equal(fake.items().length, 1);
    const retry = await complete();
    assert.equal(retry.status, 200);
    assert.equal(retry.json().item.id, fake.items()[0].id);
    assert.equal(fake.items().length, 1);
  });

  it('expireSession: invalidates the session and answers 401 code 100', async () => {
    fake.inject({ pathPattern: DRAFTS, expireSession: true });
    const photoId = (await upload()).json().id;
    const res = await postDraft([photoId]);
    assert.equal(res.status, 401);
    assert.equal(res.json().code, 100);
    assert.equal(fake.drafts().length, 0);
    const after = await upload();
    assert.equal(after.status, 401, 'the session stays expired');
    assert.equal(after.json().code, 100);
    await client.login();
    assert.equal((await postDraft([photoId])).status, 200);
  });

  it('fault answers carry the CORS grant for extension origins', async () => {
    const origin = 'moz-extension://6f1c1a2e-8d7e-4b43-9d8e-2f0f3c2b1a77';
    fake.inject({ pathPattern: PHOTOS, rateLimit: 3 });
    const res = await client.api('POST', '/api/v2/photos', { headers: { origin } });
    assert.equal(res.status, 429);
    assert.equal(res.headers['access-control-allow-origin'], origin);
  });

  it('refuses unclear fault specs', () => {
    const bad = [
      {},
      { pathPatern: PHOTOS, status: 500 },
      { status: 500, rateLimit: 3 },
      { pathPattern: '(', status: 500 },
      { status: 500, times: 0 },
      { status: 99 },
      { delayMs: -1 },
      { rateLimit: 'soon' },
      [],
    ];
    for (const spec of bad) assert.throws(() => fake.inject(spec), FaultError, JSON.stringify(spec));
  });

  it('reset() clears faults, records and objects but keeps sessions unless asked', async () => {
    fake.inject({ pathPattern: PHOTOS, status: 500, times: 10 });
    await upload();
    fake.reset();
    assert.deepEqual(fake.faults(), []);
    assert.deepEqual(fake.received(), []);
    assert.equal((await upload()).status, 200, 'still logged in, fault gone');
    fake.reset({ sessions: true });
    assert.equal((await upload()).status, 401);
    assert.deepEqual(fake.photos(), []);
  });
});

describe('control API', () => {
  let fake;
  let client;
  before(async () => { fake = await startFakeVinted(); });
  after(async () => { client?.close(); await fake.close(); });

  const control = async (method, path, body) => {
    const res = await fetch(`${fake.controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  it('logs in, injects faults, expires sessions, lists what was received and resets', async () => {
    const info = await control('GET', '/');
    assert.deepEqual(info.body, fake.info());

    const login = await control('POST', '/login', { user: 'carol' });
    assert.equal(login.status, 200);
    assert.equal(login.body.user, 'carol');
    assert.deepEqual(login.body.cookies.map((c) => [c.name, c.domain, c.secure, c.httpOnly]), [
      ['_vinted_fr_session', 'www.vinted.fr', true, true],
      ['anon_id', 'www.vinted.fr', true, false],
    ]);
    // The returned cookies and token work as a browser session.
    client = new VintedClient(fake);
    for (const c of login.body.cookies) client.cookies.set(c.name, c.value);
    client.csrfToken = login.body.csrfToken;
    const tempUuid = randomUUID();
    const bytes = makeJpeg();
    assert.equal((await client.uploadPhoto({ tempUuid, bytes })).status, 200);

    const injected = await control('POST', '/faults', [{ pathPattern: PHOTOS, status: 500 }, { pathPattern: DRAFTS, rateLimit: 2 }]);
    assert.equal(injected.status, 200);
    assert.deepEqual(injected.body.map((f) => f.action), ['status', 'rateLimit']);
    assert.equal((await client.uploadPhoto({ tempUuid, bytes })).status, 500);
    assert.equal((await control('GET', '/faults')).body[0].fired, 1);
    const refused = await control('POST', '/faults', { nope: 1 });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /unknown fault keys: nope/);
    assert.deepEqual((await control('DELETE', '/faults')).body, { ok: true });

    const received = await control('GET', '/received');
    const photoRecord = received.body.find((r) => r.pathname === '/api/v2/photos');
    assert.equal(photoRecord.multipart.files[0].size, bytes.length);
    assert.equal(photoRecord.multipart.files[0].bytes, undefined, 'bytes left out by default');
    const withBytes = await control('GET', '/received?bytes=1');
    assert.ok(Buffer.from(withBytes.body.find((r) => r.pathname === '/api/v2/photos').multipart.files[0].bytes, 'base64').equals(bytes));
    assert.equal((await control('GET', '/photos')).body.length, 1);

    assert.deepEqual((await control('POST', '/session/expire')).body, { expired: 1 });
    assert.equal((await client.uploadPhoto({ tempUuid, bytes })).json().code, 100);

    assert.deepEqual((await control('POST', '/reset', { sessions: true })).body, { ok: true });
    assert.deepEqual((await control('GET', '/received')).body, []);
    assert.deepEqual((await control('GET', '/sessions')).body, []);
    assert.equal((await control('GET', '/nope')).status, 404);

    const pem = await fetch(`${fake.controlUrl}/ca.pem`).then((r) => r.text());
    assert.equal(pem, fake.caCert);
  });
});
