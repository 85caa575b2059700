// The HTTP CONNECT proxy browsers are pointed at (--proxy-server / Firefox proxy prefs).
//
// The shipped extension only knows https://www.vinted.fr, so instead of changing what it talks to
// we change where the browser's connection goes: CONNECT www.vinted.<tld>:443 is tunnelled to the
// fake's HTTPS listener, where the test CA's certificate answers for the real name. Everything
// else is refused with 403, so a browser under test can never reach the outside world through us.

import http from 'node:http';
import net from 'node:net';

/**
 * @param {{port?: number, targetPort: number, isAllowedHost: (hostname: string) => boolean}} options
 * @returns {Promise<{port: number, log: () => object[], clearLog: () => void, close: () => Promise<void>}>}
 */
export async function startConnectProxy({ port = 0, targetPort, isAllowedHost }) {
  const sockets = new Set();
  let events = [];
  const note = (event) => events.push({ seq: events.length + 1, at: Date.now(), ...event });

  const server = http.createServer((req, res) => {
    // Plain HTTP (absolute-form GET http://...) is never forwarded.
    note({ kind: 'http', target: req.url, allowed: false });
    refuse(res, 403, 'fake-vinted proxy: plain HTTP is refused; only CONNECT www.vinted.<tld>:443 is tunnelled\n');
  });
  server.on('connect', (req, clientSocket, head) => {
    const target = parseAuthority(req.url);
    const allowed = Boolean(target) && target.port === 443 && isAllowedHost(target.hostname);
    note({ kind: 'connect', target: req.url, allowed });
    if (!allowed) return refuseTunnel(clientSocket, req.url);
    return tunnel(clientSocket, head, targetPort, sockets);
  });
  server.on('connection', (socket) => track(sockets, socket));

  await listen(server, port);
  return {
    port: server.address().port,
    log: () => events.map((event) => ({ ...event })),
    clearLog: () => { events = []; },
    close: () => close(server, sockets),
  };
}

/** Splits "host:port" / "[v6]:port" (a CONNECT request target). */
export function parseAuthority(authority) {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(String(authority ?? ''));
  if (!match) return null;
  return { hostname: (match[1] ?? match[2]).toLowerCase(), port: Number(match[3]) };
}

function tunnel(clientSocket, head, targetPort, sockets) {
  const upstream = track(sockets, net.connect(targetPort, '127.0.0.1'));
  upstream.once('connect', () => {
    clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head?.length) upstream.write(head); // Bytes the client sent right after the CONNECT.
    upstream.pipe(clientSocket);
    clientSocket.pipe(upstream);
  });
  // Either side going away takes the other with it; nothing is retried.
  upstream.on('error', () => clientSocket.destroy());
  clientSocket.on('error', () => upstream.destroy());
  upstream.on('close', () => clientSocket.destroy());
  clientSocket.on('close', () => upstream.destroy());
}

function refuseTunnel(socket, target) {
  const body = `fake-vinted proxy: ${target} is not a Vinted site; refused\n`;
  socket.on('error', () => {});
  socket.end(
    'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function refuse(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(body);
}

function track(sockets, socket) {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
  return socket;
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server, sockets) {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}
