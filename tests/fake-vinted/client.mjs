// Client-side helpers for tests that talk to the fake without a browser: a CONNECT tunnel, an
// https.Agent that goes through the proxy, a small browser-like client (cookie jar, CSRF token
// from the page, the X-CSRF-Token / X-Anon-Id headers the extension adds), and builders for
// multipart bodies and minimal JPEGs.

import { randomBytes } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

/**
 * Sends `CONNECT target` to the proxy. On 200 resolves with the raw tunnel socket; otherwise with
 * the proxy's whole answer (the socket is closed).
 * @returns {Promise<{statusCode: number, statusLine: string, headers: string, body?: string, socket?: net.Socket}>}
 */
export function connectTunnel({ proxyPort, proxyHost = '127.0.0.1', target }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, proxyHost);
    let buffer = Buffer.alloc(0);
    let head = null;
    socket.once('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (head) return;
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = parseHead(buffer.toString('latin1', 0, end));
      if (head.statusCode === 200) {
        socket.removeAllListeners('data');
        socket.off('error', reject);
        resolve({ ...head, socket }); // The server speaks only after the client's TLS hello.
      }
    });
    socket.on('end', () => {
      if (!head) return reject(new Error(`proxy closed without answering CONNECT ${target}`));
      const bodyStart = buffer.indexOf('\r\n\r\n') + 4;
      return resolve({ ...head, body: buffer.toString('utf8', bodyStart) });
    });
  });
}

/** TLS over an open tunnel, checking the certificate against `ca` for `servername`. */
export function tlsOverTunnel(socket, { servername = 'www.vinted.fr', ca }) {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ socket, servername, ca, ALPNProtocols: ['http/1.1'] });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', reject);
  });
}

/** An https.Agent whose connections go through the fake's CONNECT proxy, like a browser's. */
export class ConnectProxyAgent extends https.Agent {
  #proxy;

  constructor({ proxyPort, proxyHost = '127.0.0.1', ...agentOptions }) {
    super(agentOptions);
    this.#proxy = { proxyPort, proxyHost };
  }

  // The callback form lets the agent wait for the CONNECT exchange before TLS starts.
  createConnection(options, callback) {
    const target = `${options.host}:${options.port}`;
    connectTunnel({ ...this.#proxy, target })
      .then(({ statusCode, statusLine, socket }) => {
        if (statusCode !== 200) throw new Error(`proxy refused CONNECT ${target}: ${statusLine}`);
        const secure = tls.connect({
          socket,
          servername: options.servername || options.host,
          ca: options.ca,
          rejectUnauthorized: options.rejectUnauthorized !== false,
          ALPNProtocols: ['http/1.1'],
        });
        callback(null, secure);
      })
      .catch((error) => callback(error));
  }
}

/**
 * One HTTPS request; resolves with the whole response.
 * @returns {Promise<{status: number, headers: object, body: Buffer, text: string, json: () => any}>}
 */
export function httpsRequest({ method = 'GET', host, port, path, headers = {}, body, agent, ca, servername, timeoutMs = 10_000 }) {
  return new Promise((resolve, reject) => {
    const req = https.request({ method, host, port, path, headers, agent, ca, servername }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const buffer = Buffer.concat(chunks);
        const text = buffer.toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, body: buffer, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A browser-like client of the fake: keeps cookies, reads the CSRF token from the page and sends
 * API calls with the headers the extension adds.
 *   via 'direct': straight to the HTTPS port (Host: www.vinted.fr)
 *   via 'proxy':  CONNECT www.vinted.fr:443 through the proxy, as a browser does
 */
export class VintedClient {
  cookies = new Map();
  csrfToken = null;

  constructor(fake, { via = 'direct', hostname = 'www.vinted.fr' } = {}) {
    this.fake = fake;
    this.hostname = hostname;
    this.via = via;
    this.agent = via === 'proxy'
      ? new ConnectProxyAgent({ proxyPort: fake.proxyPort, keepAlive: true })
      : new https.Agent({ keepAlive: true });
  }

  get anonId() {
    return this.cookies.get('anon_id') ?? null;
  }

  async request(method, path, { headers = {}, body } = {}) {
    const target = this.via === 'proxy'
      ? { host: this.hostname, port: 443 }
      : { host: '127.0.0.1', port: this.fake.httpsPort };
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await httpsRequest({
      method,
      ...target,
      path,
      agent: this.agent,
      ca: this.fake.caCert,
      servername: this.hostname,
      headers: { host: this.hostname, ...(cookie ? { cookie } : {}), ...headers },
      body,
    });
    this.#storeCookies(response.headers['set-cookie'] ?? []);
    return response;
  }

  /** Logs in the way a browser test does: visit /member/login?auto=1. */
  async login({ user } = {}) {
    const query = user ? `&user=${encodeURIComponent(user)}` : '';
    const response = await this.request('GET', `/member/login?auto=1${query}`);
    if (response.status !== 302) throw new Error(`login failed: ${response.status} ${response.text}`);
    return this.loadPage();
  }

  /** Loads the home page and keeps the CSRF token from its meta tag. */
  async loadPage() {
    const response = await this.request('GET', '/');
    const match = /<meta name="csrf-token" content="([^"]+)">/.exec(response.text);
    this.csrfToken = match ? match[1] : null;
    return response;
  }

  /** An /api/v2 call with the extension's headers; `json` or `multipart` ({body, contentType}). */
  api(method, path, { json, multipart, headers = {} } = {}) {
    const extra = { accept: 'application/json', 'x-csrf-token': this.csrfToken ?? '', 'x-anon-id': this.anonId ?? '' };
    let body;
    if (json !== undefined) {
      body = JSON.stringify(json);
      extra['content-type'] = 'application/json';
    } else if (multipart) {
      body = multipart.body;
      extra['content-type'] = multipart.contentType;
    }
    return this.request(method, path, { headers: { ...extra, ...headers }, body });
  }

  uploadPhoto({ tempUuid, bytes, filename = 'photo.jpg', contentType = 'image/jpeg' }) {
    return this.api('POST', '/api/v2/photos', {
      multipart: buildMultipart([
        { name: 'photo[type]', value: 'item' },
        { name: 'photo[temp_uuid]', value: tempUuid },
        { name: 'photo[file]', filename, contentType, data: bytes },
      ]),
    });
  }

  close() {
    this.agent.destroy();
  }

  #storeCookies(setCookies) {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-)/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }
}

/**
 * Builds a multipart/form-data body.
 * @param {({name, value}|{name, filename, contentType?, data: Buffer})[]} parts
 * @param {{boundary?: string, quoteBoundary?: boolean}} [options]
 */
export function buildMultipart(parts, { boundary = `----StoFlowTest${randomBytes(12).toString('hex')}`, quoteBoundary = false } = {}) {
  const chunks = [];
  for (const part of parts) {
    let disposition = `form-data; name="${part.name}"`;
    if (part.filename !== undefined) disposition += `; filename="${part.filename}"`;
    let head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n`;
    if (part.filename !== undefined) head += `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.value ?? ''), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const param = quoteBoundary ? `"${boundary}"` : boundary;
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${param}` };
}

/** An ITEM as the design's publish steps send it; `overrides` replace fields. */
export function sampleItem({ tempUuid, photoIds, ...overrides }) {
  return {
    id: null,
    currency: 'EUR',
    temp_uuid: tempUuid,
    title: "Levi's 501 bleu",
    description: 'Jean droit, très bon état.',
    brand_id: 53,
    size_id: 207,
    catalog_id: 1,
    status_id: 1,
    price: '27.90',
    package_size_id: 1,
    color_ids: [12],
    assigned_photos: photoIds.map((id) => ({ id, orientation: 0 })),
    is_unisex: false,
    item_attributes: [],
    ...overrides,
  };
}

/**
 * A minimal byte sequence the fake (and most sniffers) recognise as a baseline JPEG of the given
 * size, followed by `payload` as "scan data". Not decodable; enough for upload tests.
 */
export function makeJpeg({ width = 800, height = 600, payload = randomBytes(256) } = {}) {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const sof0 = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03,
    0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
  const sos = Buffer.from([0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof0, sos, payload, Buffer.from([0xff, 0xd9])]);
}

function parseHead(text) {
  const [statusLine, ...headerLines] = text.split('\r\n');
  const statusCode = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  return { statusCode, statusLine, headers: headerLines.join('\r\n') };
}
