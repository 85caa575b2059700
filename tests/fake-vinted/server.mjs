// Fake Vinted marketplace for tests and the demo.
//
// Starts three loopback listeners:
//   - the site, over HTTPS with a throw-away test CA, answering as www.vinted.<tld>;
//   - an HTTP CONNECT proxy that tunnels www.vinted.<tld>:443 to the site and refuses the rest,
//     which is how an unmodified browser + extension reaches the fake;
//   - a control API (plain HTTP) to inject faults, read what was received and reset.
// See README.md next to this file.

import https from 'node:https';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureCertificates, VINTED_HOSTNAMES } from './lib/certs.mjs';
import { startControlServer } from './lib/control.mjs';
import { FaultList } from './lib/faults.mjs';
import { HttpError, htmlResponse, jsonResponse, parseCookies, readBody, sendResponse, sleep } from './lib/http-util.mjs';
import { challengePage } from './lib/pages.mjs';
import { startConnectProxy } from './lib/proxy.mjs';
import { describeBody, parseBodies, preciseNow, Recorder } from './lib/recorder.mjs';
import { createSite, ERRORS, loginCookies, SESSION_COOKIE, siteOrigin, withCors } from './lib/site.mjs';
import { VintedStore } from './lib/store.mjs';

export { VINTED_HOSTNAMES, VINTED_TLDS } from './lib/certs.mjs';
export { SESSION_COOKIE, ANON_COOKIE } from './lib/site.mjs';

const DEFAULT_MAX_BODY = 32 * 1024 * 1024;
const ORIGIN = 'https://www.vinted.fr';

/**
 * Starts the fake. Every listener binds 127.0.0.1 only.
 * @param {object} [options]
 * @param {number} [options.port=0]          HTTPS site port (0: any free port)
 * @param {number} [options.proxyPort=0]     CONNECT proxy port
 * @param {number} [options.controlPort=0]   control API port
 * @param {string} [options.stateDir]        where the CA and leaf live (kept and reused); default a
 *                                           temp dir removed by close()
 * @param {number} [options.sessionTtlMs]    sessions expire after this long (default: never)
 * @param {number} [options.maxBodyBytes]    larger request bodies get 413 (default 32 MiB)
 */
export async function startFakeVinted(options = {}) {
  const { dir, temporary } = await prepareStateDir(options.stateDir);
  const cleanups = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn();
    if (temporary) await rm(dir, { recursive: true, force: true });
  };
  try {
    return await assemble(options, dir, cleanups, cleanup);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

async function assemble(options, dir, cleanups, cleanup) {
  const certs = await ensureCertificates(dir);
  const store = new VintedStore({ sessionTtlMs: options.sessionTtlMs ?? null });
  const faults = new FaultList();
  const recorder = new Recorder();
  const site = createSite({ store });
  const deps = { store, site, faults, recorder, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY };

  const httpsServer = await startSiteServer(certs, options.port ?? 0, deps);
  cleanups.push(httpsServer.close);
  const proxy = await startConnectProxy({
    port: options.proxyPort ?? 0,
    targetPort: httpsServer.port,
    isAllowedHost: (hostname) => VINTED_HOSTNAMES.includes(hostname),
  });
  cleanups.push(proxy.close);

  let closed = null;
  const fake = {
    httpsPort: httpsServer.port,
    proxyPort: proxy.port,
    controlUrl: null,
    origin: ORIGIN,
    directUrl: `https://127.0.0.1:${httpsServer.port}`,
    stateDir: dir,
    caCertPath: certs.caCertPath,
    caCert: certs.caCert,
    spkiHash: certs.spkiHash,
    info: () => ({
      httpsPort: fake.httpsPort, proxyPort: fake.proxyPort, controlUrl: fake.controlUrl, origin: ORIGIN,
      directUrl: fake.directUrl, caCertPath: fake.caCertPath, spkiHash: fake.spkiHash, stateDir: dir,
    }),
    received: () => recorder.list(),
    photos: () => store.photos(),
    drafts: () => store.drafts(),
    items: () => store.items(),
    sessions: () => store.sessions(),
    proxyLog: () => proxy.log(),
    inject: (fault) => faults.add(fault),
    faults: () => faults.list(),
    clearFaults: () => faults.clear(),
    expireSessions: (sessionId = null) => store.expireSessions(sessionId),
    login: ({ user } = {}) => describeLogin(store.createSession({ user })),
    /** Forgets requests, faults, photos, drafts and items (and sessions with {sessions: true}). */
    reset: ({ sessions = false } = {}) => {
      recorder.clear();
      faults.clear();
      proxy.clearLog();
      store.reset({ sessions });
    },
    close: () => {
      closed ??= cleanup();
      return closed;
    },
  };

  const control = await startControlServer({ port: options.controlPort ?? 0, fake });
  cleanups.push(control.close);
  fake.controlUrl = `http://127.0.0.1:${control.port}`;
  return fake;
}

// A login made from the outside (control API, test helper): the cookies come back both as
// Set-Cookie strings and in the shape Playwright's context.addCookies() takes.
function describeLogin(session) {
  const setCookies = loginCookies(session);
  return {
    user: session.user,
    sessionId: session.id,
    csrfToken: session.csrfToken,
    anonId: session.anonId,
    setCookies,
    cookies: [
      { name: SESSION_COOKIE, value: session.id, domain: 'www.vinted.fr', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' },
      { name: 'anon_id', value: session.anonId, domain: 'www.vinted.fr', path: '/', httpOnly: false, secure: true, sameSite: 'Lax' },
    ],
  };
}

async function prepareStateDir(stateDir) {
  if (stateDir) {
    const dir = resolve(stateDir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return { dir, temporary: false };
  }
  return { dir: await mkdtemp(join(tmpdir(), 'fake-vinted-')), temporary: true };
}

async function startSiteServer(certs, port, deps) {
  const server = https.createServer({ key: certs.leafKey, cert: certs.leafCert }, (req, res) => {
    serveSite(req, res, deps);
  });
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {}); // A client refusing our certificate is its business.
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolveListen);
  });
  return {
    port: server.address().port,
    close: () => new Promise((resolveClose) => {
      server.close(() => resolveClose());
      for (const socket of sockets) socket.destroy();
    }),
  };
}

async function serveSite(req, res, deps) {
  const url = new URL(req.url, 'https://request.invalid');
  const record = deps.recorder.start(req, url);
  res.setHeader('x-fake-vinted-seq', String(record.seq));
  try {
    const body = await readBody(req, deps.maxBodyBytes);
    record.receivedAt = preciseNow();
    const contentType = req.headers['content-type'];
    const parsed = parseBodies(contentType, body);
    describeBody(record, contentType, body, parsed);
    const ctx = {
      method: req.method,
      pathname: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      cookies: parseCookies(req.headers.cookie),
      origin: siteOrigin(req.headers.host),
      body,
      ...parsed,
    };
    const fault = deps.faults.match(req.method, url.pathname);
    if (fault) record.fault = { id: fault.id, action: fault.action };
    const response = await respond(ctx, fault, deps);
    if (fault?.action === 'dropAfterCreate') {
      // The action above has happened; the client never learns it did.
      record.dropped = true;
      req.socket.destroy();
      return;
    }
    finish(record, res, withCors(response, req.headers.origin));
  } catch (error) {
    if (!(error instanceof HttpError)) console.error('fake-vinted: handler failed:', error);
    const status = error instanceof HttpError ? error.status : 500;
    const response = jsonResponse(status, { code: status, message: error.message });
    if (status === 413) response.headers.connection = 'close';
    finish(record, res, withCors(response, req.headers.origin));
  }
}

async function respond(ctx, fault, { site, store }) {
  if (fault?.delayMs) await sleep(fault.delayMs);
  switch (fault?.action) {
    case 'status':
      return jsonResponse(fault.status, fault.json ?? { code: fault.status, message: 'Injected fault' }, fault.headers);
    case 'html':
      return htmlResponse(fault.status ?? 200, fault.html ?? challengePage(), fault.headers);
    case 'rateLimit':
      return jsonResponse(429, fault.json ?? { code: 429, message: 'Too Many Requests' }, {
        'retry-after': String(fault.retryAfter),
        ...fault.headers,
      });
    case 'expireSession':
      // The request's own session when it has one, else every session.
      store.expireSessions(ctx.cookies[SESSION_COOKIE] ?? null);
      return jsonResponse(401, ERRORS.unauthorized);
    default: // No fault, a pure delay, or dropAfterCreate (the action runs, the answer is lost).
      return site.handle(ctx);
  }
}

function finish(record, res, response) {
  record.status = response.status;
  if (res.destroyed || res.writableEnded) return; // The client went away (e.g. during a delay).
  sendResponse(res, response);
}
