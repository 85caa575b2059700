// The fake www.vinted.<tld> site: pages, login, and the /api/v2 endpoints of the publish flow.
//
// `handle(ctx)` is a pure request -> response-object function over the store; the HTTPS server
// (server.mjs) owns sockets, recording and faults.

import { randomUUID } from 'node:crypto';
import { VINTED_HOSTNAMES } from './certs.mjs';
import { htmlResponse, jsonResponse, redirectResponse, serializeCookie } from './http-util.mjs';
import { sniffImage } from './images.mjs';
import { homePage, itemPage, loginPage } from './pages.mjs';
import { DEFAULT_USER } from './store.mjs';
import { isUuid, validateEnvelope, validateItem, validatePhotoFields } from './validate.mjs';

export const SESSION_COOKIE = '_vinted_fr_session';
export const ANON_COOKIE = 'anon_id';
const ONE_YEAR_S = 365 * 24 * 3600;

// Vinted-style error bodies. Codes 100 (session) and 106 (CSRF) follow the real site; 107 for a
// wrong X-Anon-Id is this fake's own, so tests can tell the three refusals apart.
export const ERRORS = Object.freeze({
  unauthorized: { code: 100, message: 'Unauthorized', message_code: 'invalid_authentication_token' },
  badCsrf: { code: 106, message: 'Invalid CSRF token', message_code: 'invalid_csrf_token' },
  badAnonId: { code: 107, message: 'Invalid anon_id', message_code: 'invalid_anon_id' },
  notFound: { code: 404, message: 'Not found', message_code: 'not_found' },
});

const EXTENSION_ORIGIN = /^(chrome-extension|moz-extension|safari-web-extension):\/\/[A-Za-z0-9._-]+$/;

/** The site origin for a Host header: a Vinted host, or www.vinted.fr for loopback access. */
export function siteOrigin(hostHeader) {
  const hostname = String(hostHeader ?? '').replace(/:\d+$/, '').toLowerCase();
  if (VINTED_HOSTNAMES.includes(hostname)) return `https://${hostname}`;
  if (hostname === '127.0.0.1' || hostname === 'localhost') return 'https://www.vinted.fr';
  return null;
}

/** Cookie attributes of a login, also used by the control API to hand cookies to a browser. */
export function loginCookies(session) {
  return [
    serializeCookie(SESSION_COOKIE, session.id, { Path: '/', Secure: true, HttpOnly: true, SameSite: 'Lax' }),
    anonCookie(session.anonId),
  ];
}

export function createSite({ store }) {
  const routes = [
    ['GET', /^\/$/, home],
    ['GET', /^\/member\/login$/, loginGet],
    ['POST', /^\/member\/login$/, loginPost],
    ['POST', /^\/test\/login$/, testLogin],
    ['GET', /^\/items\/(\d+)(?:-[^/]*)?$/, showItem],
    ['POST', /^\/api\/v2\/photos$/, api(uploadPhoto)],
    ['POST', /^\/api\/v2\/item_upload\/drafts$/, api(createDraft)],
    ['POST', /^\/api\/v2\/item_upload\/drafts\/(\d+)\/completion$/, api(completeDraft)],
    ['PUT', /^\/api\/v2\/item_upload\/items\/(\d+)$/, api(updateItem)],
    ['POST', /^\/api\/v2\/items\/(\d+)\/delete$/, api(deleteItem)],
  ];

  /**
   * @param ctx {method, pathname, query: URLSearchParams, headers, cookies, origin, body: Buffer,
   *             json: {value?, error?}, form: {value?, error?}}
   */
  function handle(ctx) {
    if (!ctx.origin) return jsonResponse(421, { code: 421, message: 'Misdirected request: not a Vinted host' });
    if (ctx.method === 'OPTIONS') return preflight(ctx);
    for (const [method, pattern, handler] of routes) {
      const match = ctx.method === method && pattern.exec(ctx.pathname);
      if (match) return handler(ctx, match.slice(1).map(Number));
    }
    return jsonResponse(404, ERRORS.notFound);
  }

  // Pages and login ---------------------------------------------------------------------

  function home(ctx) {
    const session = store.liveSession(ctx.cookies[SESSION_COOKIE]);
    // A visitor without a session still gets a page and a token; that token authorises nothing
    // because every API call needs a session first.
    const csrfToken = session?.csrfToken ?? randomUUID();
    const anonId = session?.anonId ?? validAnonId(ctx.cookies[ANON_COOKIE]) ?? randomUUID();
    const response = htmlResponse(200, homePage({ csrfToken, anonId, user: session?.user }), noStore());
    if (ctx.cookies[ANON_COOKIE] !== anonId) response.cookies = [anonCookie(anonId)];
    return response;
  }

  function loginGet(ctx) {
    const refUrl = safeRefUrl(ctx.query.get('ref_url'));
    if (ctx.query.get('auto') === '1') return loggedIn(ctx, ctx.query.get('user'), redirectResponse(refUrl));
    return htmlResponse(200, loginPage({ refUrl }), noStore());
  }

  function loginPost(ctx) {
    const form = new URLSearchParams(ctx.body.toString('utf8'));
    return loggedIn(ctx, form.get('login'), redirectResponse(safeRefUrl(form.get('ref_url')), 303));
  }

  function testLogin(ctx) {
    const user = typeof ctx.json.value?.user === 'string' ? ctx.json.value.user : null;
    const session = login(ctx, user);
    const response = jsonResponse(200, { user: session.user, csrf_token: session.csrfToken, anon_id: session.anonId });
    response.cookies = loginCookies(session);
    return response;
  }

  function loggedIn(ctx, user, response) {
    response.cookies = loginCookies(login(ctx, user));
    return response;
  }

  // Keeps the browser's anon_id across a login, as the real site does.
  function login(ctx, user) {
    return store.createSession({
      user: user || DEFAULT_USER,
      anonId: validAnonId(ctx.cookies[ANON_COOKIE]) ?? randomUUID(),
    });
  }

  function showItem(ctx, [id]) {
    const item = store.item(id);
    if (!item || item.deleted) return jsonResponse(404, ERRORS.notFound);
    return htmlResponse(200, itemPage(item));
  }

  // API -----------------------------------------------------------------------------------

  // Every /api/v2 endpoint checks, in the real site's order: session, CSRF token, anon id.
  function api(handler) {
    return (ctx, params) => {
      const session = store.liveSession(ctx.cookies[SESSION_COOKIE]);
      if (!session) return jsonResponse(401, ERRORS.unauthorized);
      if (ctx.headers['x-csrf-token'] !== session.csrfToken) return jsonResponse(401, ERRORS.badCsrf);
      const anonId = ctx.cookies[ANON_COOKIE];
      if (!anonId || ctx.headers['x-anon-id'] !== anonId) return jsonResponse(401, ERRORS.badAnonId);
      return handler(ctx, session, params);
    };
  }

  function uploadPhoto(ctx, session) {
    if (ctx.form.error) return badRequest(ctx.form.error);
    const { fields, files } = ctx.form.value;
    const errors = validatePhotoFields(fields);
    const file = files.find((f) => f.field === 'photo[file]');
    const image = file?.size ? sniffImage(file.bytes) : null;
    if (!file) {
      const why = 'photo[file]' in fields ? 'must be a file part (with a filename)' : 'is missing';
      errors.push({ field: 'photo[file]', value: why });
    } else if (!file.size) {
      errors.push({ field: 'photo[file]', value: 'is empty' });
    } else if (!image) {
      errors.push({ field: 'photo[file]', value: 'is not a supported image (JPEG, PNG, WebP, GIF, HEIC)' });
    }
    if (errors.length) return validationFailed(errors);
    const photo = store.addPhoto({
      user: session.user, sessionId: session.id, tempUuid: fields['photo[temp_uuid]'], file, image,
    });
    return jsonResponse(200, photoJson(photo));
  }

  function createDraft(ctx, session) {
    const parsed = itemRequest(ctx, session, 'draft', undefined);
    if (parsed.response) return parsed.response;
    const draft = store.addDraft({ user: session.user, item: parsed.item, uploadSessionId: parsed.body.upload_session_id });
    return jsonResponse(200, { draft: { ...draft.item, id: draft.id, is_draft: true } });
  }

  function completeDraft(ctx, session, [draftId]) {
    const draft = store.draft(draftId);
    if (!draft || draft.user !== session.user) return jsonResponse(404, { ...ERRORS.notFound, message: 'Draft not found' });
    const parsed = itemRequest(ctx, session, 'completion', draft.id);
    if (parsed.response) return parsed.response;
    // A completion repeated after a lost response answers with the item it already made: the
    // draft is published once, never twice.
    const item = draft.itemId !== null ? store.item(draft.itemId) : store.completeDraft(draft, parsed.item, ctx.origin);
    return jsonResponse(200, { item: itemJson(item) });
  }

  function updateItem(ctx, session, [itemId]) {
    const item = ownedItem(session, itemId);
    if (!item) return jsonResponse(404, { ...ERRORS.notFound, message: 'Item not found' });
    const parsed = itemRequest(ctx, session, 'update', item.id);
    if (parsed.response) return parsed.response;
    return jsonResponse(200, { item: itemJson(store.updateItem(item, parsed.item, ctx.origin)) });
  }

  function deleteItem(ctx, session, [itemId]) {
    const item = ownedItem(session, itemId);
    if (!item) return jsonResponse(404, { ...ERRORS.notFound, message: 'Item not found' });
    store.deleteItem(item);
    return jsonResponse(200, { code: 0 });
  }

  // Parses and validates a JSON body carrying an ITEM; returns {body, item} or {response}.
  function itemRequest(ctx, session, kind, expectedId) {
    if (ctx.json.error) return { response: badRequest(ctx.json.error) };
    const { item, malformed, errors } = validateEnvelope(ctx.json.value, kind);
    if (malformed) return { response: badRequest(malformed) };
    errors.push(...validateItem(item, { expectedId, photoProblem: photoProblemFor(session.user) }));
    if (errors.length) return { response: validationFailed(errors) };
    return { body: ctx.json.value, item };
  }

  function photoProblemFor(user) {
    return (id) => {
      const photo = store.photo(id);
      return photo && photo.user === user ? null : `photo ${id} was not uploaded by this seller`;
    };
  }

  function ownedItem(session, id) {
    const item = store.item(id);
    return item && item.user === session.user && !item.deleted ? item : null;
  }

  function itemJson(item) {
    const path = new URL(item.url).pathname;
    return {
      ...item.fields,
      id: item.id,
      url: item.url,
      path,
      is_draft: false,
      is_closed: false,
      is_hidden: false,
      photos: item.fields.assigned_photos.map(({ id }) => ({ id, url: store.photo(id)?.url ?? null })),
      created_at_ts: new Date(item.createdAt).toISOString(),
      updated_at_ts: new Date(item.updatedAt).toISOString(),
    };
  }

  return { handle };
}

function photoJson(photo) {
  return {
    id: photo.id,
    image_no: 1,
    width: photo.width,
    height: photo.height,
    dominant_color: '#C4C4C4',
    dominant_color_opaque: '#C4C4C4',
    url: photo.url,
    full_size_url: photo.url,
    is_main: false,
    is_suspicious: false,
    is_hidden: false,
    orientation: 0,
    temp_uuid: photo.tempUuid,
    thumbnails: [{ type: 'thumb70x100', url: photo.url, width: 70, height: 100 }],
  };
}

function preflight(ctx) {
  // Same-origin pages never preflight; a foreign origin gets no grant, so its browser blocks it.
  if (!EXTENSION_ORIGIN.test(ctx.headers.origin ?? '')) return { status: 204, headers: {}, body: '' };
  return {
    status: 204,
    headers: {
      'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
      'access-control-allow-headers':
        ctx.headers['access-control-request-headers'] ?? 'content-type, x-csrf-token, x-anon-id',
      'access-control-max-age': '600',
    },
    body: '',
  };
}

/**
 * Adds a credentialed CORS grant for extension origins. Extension pages and workers may send an
 * Origin (Firefox background pages do); every answer to them, faults included, must be readable,
 * or the extension would see a network error instead of a 401 or 429. Other foreign origins get
 * no grant, as on the real site.
 */
export function withCors(response, origin) {
  if (!origin || !EXTENSION_ORIGIN.test(origin)) return response;
  response.headers = {
    ...response.headers,
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    vary: 'Origin',
  };
  return response;
}

function anonCookie(anonId) {
  return serializeCookie(ANON_COOKIE, anonId, { Path: '/', 'Max-Age': ONE_YEAR_S, Secure: true, SameSite: 'Lax' });
}

function validAnonId(value) {
  return isUuid(value) ? value : null;
}

// Only same-site relative paths, so the login page cannot be used as an open redirect.
function safeRefUrl(value) {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/';
}

function noStore() {
  return { 'cache-control': 'no-store' };
}

function badRequest(message) {
  return jsonResponse(400, { code: 99, message, message_code: 'bad_request', errors: [] });
}

function validationFailed(errors) {
  return jsonResponse(422, { code: 99, message: 'Validation error', message_code: 'validation_error', errors });
}
