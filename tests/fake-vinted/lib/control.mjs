// The control API: plain HTTP on a loopback port of its own, so tests written in any language (or
// a shell with curl) can steer the fake while a browser talks to the site side. It is never
// reachable through the proxy (which only tunnels Vinted hosts to the HTTPS listener).

import http from 'node:http';
import { FaultError } from './faults.mjs';
import { HttpError, jsonResponse, readBody, sendResponse } from './http-util.mjs';

const MAX_CONTROL_BODY = 1024 * 1024;

/**
 * @param {{port?: number, fake: object}} options  `fake` is the handle startFakeVinted returns.
 */
export async function startControlServer({ port = 0, fake }) {
  const routes = controlRoutes(fake);
  const server = http.createServer((req, res) => {
    serve(routes, req, res).catch((error) => {
      const status = error instanceof HttpError ? error.status : error instanceof FaultError ? 400 : 500;
      sendResponse(res, jsonResponse(status, { error: error.message }));
    });
  });
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }),
  };
}

function controlRoutes(fake) {
  return {
    'GET /': () => fake.info(),
    'GET /ca.pem': () => ({ raw: { status: 200, headers: { 'content-type': 'application/x-pem-file' }, body: fake.caCert } }),
    'GET /received': (_, query) => jsonSafe(fake.received(), query.get('bytes') === '1'),
    'GET /photos': (_, query) => jsonSafe(fake.photos(), query.get('bytes') === '1'),
    'GET /drafts': () => fake.drafts(),
    'GET /items': () => fake.items(),
    'GET /sessions': () => fake.sessions(),
    'GET /proxy-log': () => fake.proxyLog(),
    'GET /faults': () => fake.faults(),
    'POST /faults': (body) => (Array.isArray(body) ? body.map((f) => fake.inject(f)) : fake.inject(body)),
    'DELETE /faults': () => {
      fake.clearFaults();
      return { ok: true };
    },
    'POST /reset': (body) => {
      fake.reset({ sessions: body?.sessions === true });
      return { ok: true };
    },
    'POST /session/expire': (body) => ({ expired: fake.expireSessions(body?.session ?? null) }),
    'POST /login': (body) => fake.login({ user: typeof body?.user === 'string' ? body.user : undefined }),
  };
}

async function serve(routes, req, res) {
  const url = new URL(req.url, 'http://control.invalid');
  const route = routes[`${req.method} ${url.pathname}`];
  const raw = await readBody(req, MAX_CONTROL_BODY);
  if (!route) throw new HttpError(404, `no control route ${req.method} ${url.pathname}`);
  const result = await route(parseBody(raw), url.searchParams);
  sendResponse(res, result?.raw ?? jsonResponse(200, result));
}

function parseBody(raw) {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `control body is not JSON: ${error.message}`);
  }
}

// Buffers become base64 when asked for (?bytes=1) and are left out otherwise: a test that only
// needs sizes and hashes should not pull megabytes of photos over the control port.
function jsonSafe(value, withBytes) {
  if (Buffer.isBuffer(value)) return withBytes ? value.toString('base64') : undefined;
  if (Array.isArray(value)) return value.map((entry) => jsonSafe(entry, withBytes));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, entry]) => [key, jsonSafe(entry, withBytes)]);
    return Object.fromEntries(entries.filter(([, entry]) => entry !== undefined));
  }
  return value;
}
