// The CONNECT proxy: tunnels www.vinted.<tld>:443 to the fake and refuses everything else.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { connectTunnel, tlsOverTunnel } from '../client.mjs';
import { startFakeVinted, VINTED_HOSTNAMES } from '../server.mjs';

// A raw HTTP/1.1 exchange over an established TLS socket.
function rawGet(socket, host, path) {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

describe('CONNECT proxy', () => {
  let fake;
  before(async () => { fake = await startFakeVinted(); });
  after(async () => { await fake.close(); });

  it('tunnels www.vinted.fr:443 to the fake, which presents the test CA certificate', async () => {
    const tunnel = await connectTunnel({ proxyPort: fake.proxyPort, target: 'www.vinted.fr:443' });
    assert.equal(tunnel.statusCode, 200, tunnel.statusLine);
    const secure = await tlsOverTunnel(tunnel.socket, { servername: 'www.vinted.fr', ca: fake.caCert });
    assert.equal(secure.authorized, true);
    const peer = secure.getPeerX509Certificate();
    const spki = createHash('sha256').update(peer.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    assert.equal(spki, fake.spkiHash, 'spkiHash is the leaf the browser sees');
    const answer = await rawGet(secure, 'www.vinted.fr', '/');
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    assert.match(answer, /<meta name="csrf-token" content="[^"]+">/);
  });

  it('the certificate is not trusted without the test CA', async () => {
    const tunnel = await connectTunnel({ proxyPort: fake.proxyPort, target: 'www.vinted.fr:443' });
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ socket: tunnel.socket, servername: 'www.vinted.fr' }, resolve);
        s.on('error', reject);
      }),
      (error) => /self[- ]signed|unable to (get|verify)|UNABLE_TO_GET_ISSUER/i.test(`${error.code} ${error.message}`),
    );
  });

  it('tunnels every www.vinted.<tld> and the certificate covers each name', async () => {
    assert.ok(VINTED_HOSTNAMES.includes('www.vinted.co.uk') && VINTED_HOSTNAMES.includes('www.vinted.com'));
    for (const hostname of VINTED_HOSTNAMES) {
      const tunnel = await connectTunnel({ proxyPort: fake.proxyPort, target: `${hostname}:443` });
      assert.equal(tunnel.statusCode, 200, hostname);
      const secure = await tlsOverTunnel(tunnel.socket, { servername: hostname, ca: fake.caCert });
      assert.equal(secure.authorized, true, hostname);
      secure.destroy();
    }
  });

  it('refuses every other destination with 403, including the fake\'s own loopback ports', async () => {
    const control = new URL(fake.controlUrl);
    const targets = [
      'example.com:443', 'www.google.com:443', 'vinted.fr:443', 'images.vinted.fr:443', 'www.vinted.fr:80',
      'www.vinted.fr:8443', 'www.vinted.fr.evil.example:443', 'www.vinted.xyz:443', `127.0.0.1:${fake.httpsPort}`,
      `localhost:${control.port}`, '[::1]:443', 'no-port',
    ];
    for (const target of targets) {
      const answer = await connectTunnel({ proxyPort: fake.proxyPort, target });
      assert.equal(answer.statusCode, 403, target);
      assert.match(answer.body, /refused/);
    }
    const log = fake.proxyLog().filter((e) => !e.allowed).map((e) => e.target);
    for (const target of targets) assert.ok(log.includes(target), `logged ${target}`);
  });

  it('refuses plain HTTP requests, for Vinted too', async () => {
    for (const url of ['http://www.vinted.fr/', 'http://example.com/']) {
      const status = await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: fake.proxyPort, method: 'GET', path: url, headers: { host: new URL(url).host } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 403, url);
    }
    assert.ok(fake.proxyLog().some((e) => e.kind === 'http' && e.target === 'http://www.vinted.fr/' && !e.allowed));
  });

  it('logs allowed tunnels and closes them with the fake', async () => {
    const other = await startFakeVinted();
    const tunnel = await connectTunnel({ proxyPort: other.proxyPort, target: 'www.vinted.fr:443' });
    assert.deepEqual(other.proxyLog().map((e) => [e.kind, e.target, e.allowed]), [['connect', 'www.vinted.fr:443', true]]);
    const closed = new Promise((resolve) => tunnel.socket.once('close', resolve));
    await other.close();
    await closed;
  });
});
