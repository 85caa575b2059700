// Login, page token, and the session / CSRF / anon-id checks every /api/v2 call goes through.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { buildMultipart, makeJpeg, VintedClient } from '../client.mjs';
import { startFakeVinted } from '../server.mjs';

const API = '/api/v2/photos';

function photoForm() {
  return buildMultipart([
    { name: 'photo[type]', value: 'item' },
    { name: 'photo[temp_uuid]', value: randomUUID() },
    { name: 'photo[file]', filename: 'a.jpg', contentType: 'image/jpeg', data: makeJpeg() },
  ]);
}

function pageToken(html) {
  const meta = /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1];
  const inline = /"CSRF_TOKEN":"([^"]+)"/.exec(html)?.[1];
  return { meta, inline };
}

function cookieLine(setCookies, name) {
  return setCookies.find((line) => line.startsWith(`${name}=`));
}

describe('login and page token', () => {
  let fake;
  let client;
  before(async () => { fake = await startFakeVinted(); });
  after(async () => { client?.close(); await fake.close(); });
  beforeEach(() => {
    client?.close();
    fake.reset({ sessions: true });
    client = new VintedClient(fake);
  });

  it('serves the home page with a token to a visitor without a session', async () => {
    const res = await client.request('GET', '/');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/html/);
    const { meta, inline } = pageToken(res.text);
    assert.ok(meta, 'meta csrf-token present');
    assert.equal(inline, meta, 'inline "CSRF_TOKEN" equals the meta tag');
    const setCookies = res.headers['set-cookie'];
    assert.match(cookieLine(setCookies, 'anon_id'), /^anon_id=[0-9a-f-]{36}; Path=\/; Max-Age=\d+; Secure; SameSite=Lax$/);
    assert.equal(cookieLine(setCookies, '_vinted_fr_session'), undefined);
    assert.match(res.text, /id="login-link"/);
  });

  it('logs in via /member/login?auto=1 with Vinted-like cookies, keeping the anon_id', async () => {
    await client.request('GET', '/');
    const anonBefore = client.anonId;
    const res = await client.request('GET', '/member/login?auto=1');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, '/');
    const session = cookieLine(res.headers['set-cookie'], '_vinted_fr_session');
    assert.match(session, /^_vinted_fr_session=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    assert.doesNotMatch(session, /Domain=/i, 'host-only cookie on www.vinted.fr');
    assert.match(cookieLine(res.headers['set-cookie'], 'anon_id'), /; Secure/);
    assert.equal(client.anonId, anonBefore);

    const page = await client.request('GET', '/');
    assert.match(page.text, /data-user="seller"/);
    const { meta, inline } = pageToken(page.text);
    assert.equal(meta, fake.sessions()[0].csrfToken);
    assert.equal(inline, meta);
  });

  it('shows a login page whose form logs in and redirects to a local ref_url only', async () => {
    const page = await client.request('GET', '/member/login?ref_url=/items/new');
    assert.equal(page.status, 200);
    assert.match(page.text, /<form id="login-form" method="post" action="\/member\/login">/);
    assert.match(page.text, /<button id="login-button" type="submit">/);
    assert.match(page.text, /name="ref_url" value="\/items\/new"/);

    const res = await client.request('POST', '/member/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ref_url=%2Fitems%2Fnew&login=alice',
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/items/new');
    assert.equal(fake.sessions()[0].user, 'alice');

    const open = await client.request('GET', '/member/login?auto=1&ref_url=//evil.example/');
    assert.equal(open.headers.location, '/');
  });

  it('logs in with POST /test/login and returns the token the page shows', async () => {
    const res = await client.request('POST', '/test/login', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bob' }),
    });
    assert.equal(res.status, 200);
    const body = res.json();
    assert.equal(body.user, 'bob');
    assert.equal(body.anon_id, client.anonId);
    await client.loadPage();
    assert.equal(client.csrfToken, body.csrf_token);
  });

  it('rotates the CSRF token on each login', async () => {
    await client.login();
    const first = client.csrfToken;
    await client.login();
    assert.notEqual(client.csrfToken, first);
    const stale = await client.api('POST', API, { multipart: photoForm(), headers: { 'x-csrf-token': first } });
    assert.equal(stale.status, 401);
    assert.equal(stale.json().code, 106);
  });
});

describe('API session checks', () => {
  let fake;
  let client;
  before(async () => { fake = await startFakeVinted(); });
  after(async () => { client?.close(); await fake.close(); });
  beforeEach(async () => {
    client?.close();
    fake.reset({ sessions: true });
    client = new VintedClient(fake);
    await client.login();
  });

  it('accepts a call with session, token and anon id', async () => {
    const res = await client.api('POST', API, { multipart: photoForm() });
    assert.equal(res.status, 200, res.text);
  });

  it('answers 401 code 100 without a session cookie', async () => {
    client.cookies.delete('_vinted_fr_session');
    const res = await client.api('POST', API, { multipart: photoForm() });
    assert.equal(res.status, 401);
    assert.deepEqual(res.json(), { code: 100, message: 'Unauthorized', message_code: 'invalid_authentication_token' });
  });

  it('answers 401 code 100 with an unknown session cookie', async () => {
    client.cookies.set('_vinted_fr_session', 'f'.repeat(64));
    const res = await client.api('POST', API, { multipart: photoForm() });
    assert.equal(res.status, 401);
    assert.equal(res.json().code, 100);
  });

  it('answers 401 code 106 for a missing, wrong or anonymous-page CSRF token', async () => {
    const anonymousPage = await new VintedClient(fake).request('GET', '/');
    const anonymousToken = pageToken(anonymousPage.text).meta;
    for (const token of [undefined, 'wrong', anonymousToken]) {
      const headers = token === undefined ? { 'x-csrf-token': '' } : { 'x-csrf-token': token };
      const res = await client.api('POST', API, { multipart: photoForm(), headers });
      assert.equal(res.status, 401, `token ${token}`);
      assert.equal(res.json().code, 106);
    }
    assert.equal(fake.photos().length, 0, 'nothing was stored');
  });

  it('answers 401 (code 107) when X-Anon-Id is missing or differs from the anon_id cookie', async () => {
    const missing = await client.api('POST', API, { multipart: photoForm(), headers: { 'x-anon-id': '' } });
    assert.equal(missing.status, 401);
    assert.equal(missing.json().code, 107);
    const wrong = await client.api('POST', API, { multipart: photoForm(), headers: { 'x-anon-id': randomUUID() } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json().code, 107);
    client.cookies.delete('anon_id');
    const noCookie = await client.api('POST', API, { multipart: photoForm(), headers: { 'x-anon-id': 'x' } });
    assert.equal(noCookie.status, 401);
    assert.equal(noCookie.json().code, 107);
  });

  it('checks the session before anything else, even on a bad body', async () => {
    client.cookies.delete('_vinted_fr_session');
    const res = await client.api('POST', '/api/v2/item_upload/drafts', { json: 'nonsense' });
    assert.equal(res.json().code, 100);
  });

  it('answers 401 code 100 once the session has been expired, until the seller logs in again', async () => {
    assert.equal(fake.expireSessions(), 1);
    const res = await client.api('POST', API, { multipart: photoForm() });
    assert.equal(res.status, 401);
    assert.equal(res.json().code, 100);
    const page = await client.request('GET', '/');
    assert.match(page.text, /id="login-link"/, 'the page shows a logged-out visitor');
    await client.login();
    assert.equal((await client.api('POST', API, { multipart: photoForm() })).status, 200);
  });

  it('expires sessions after sessionTtlMs', async () => {
    const shortLived = await startFakeVinted({ sessionTtlMs: 150 });
    const c = new VintedClient(shortLived);
    try {
      await c.login();
      assert.equal((await c.api('POST', API, { multipart: photoForm() })).status, 200);
      await new Promise((r) => setTimeout(r, 250));
      const res = await c.api('POST', API, { multipart: photoForm() });
      assert.equal(res.status, 401);
      assert.equal(res.json().code, 100);
    } finally {
      c.close();
      await shortLived.close();
    }
  });
});

describe('CORS, hosts and unknown routes', () => {
  let fake;
  let client;
  before(async () => {
    fake = await startFakeVinted();
    client = new VintedClient(fake);
    await client.login();
  });
  after(async () => { client.close(); await fake.close(); });

  for (const origin of ['chrome-extension://abcdefghijklmnopabcdefghijklmnop', 'moz-extension://6f1c1a2e-8d7e-4b43-9d8e-2f0f3c2b1a77']) {
    it(`grants a credentialed preflight and response to ${origin.split(':')[0]}`, async () => {
      const pre = await client.request('OPTIONS', API, {
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-csrf-token,x-anon-id' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], origin);
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      assert.match(pre.headers['access-control-allow-methods'], /POST/);
      assert.match(pre.headers['access-control-allow-headers'], /x-csrf-token/);
      const res = await client.api('POST', API, { multipart: photoForm(), headers: { origin } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['access-control-allow-origin'], origin);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
    });
  }

  it('grants nothing to a foreign web origin', async () => {
    const origin = 'https://evil.example';
    const pre = await client.request('OPTIONS', API, { headers: { origin, 'access-control-request-method': 'POST' } });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    const res = await client.api('POST', API, { multipart: photoForm(), headers: { origin } });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });

  it('answers 404 JSON for unknown paths and wrong methods', async () => {
    for (const [method, path] of [['GET', '/api/v2/nope'], ['GET', API], ['DELETE', '/api/v2/items/1'], ['GET', '/favicon.ico']]) {
      const res = await client.api(method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.equal(res.json().code, 404);
    }
  });

  it('answers 421 to a Host that is not a Vinted site', async () => {
    const res = await client.request('GET', '/', { headers: { host: 'www.example.com' } });
    assert.equal(res.status, 421);
  });
});
