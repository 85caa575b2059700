import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeJpeg } from '../client.mjs';
import { sniffImage } from '../lib/images.mjs';

function png(width, height) {
  const b = Buffer.alloc(33);
  Buffer.from('\x89PNG\r\n\x1a\n', 'latin1').copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

function webpVp8x(width, height) {
  const b = Buffer.alloc(30);
  b.write('RIFF', 0, 'latin1');
  b.write('WEBPVP8X', 8, 'latin1');
  b.writeUIntLE(width - 1, 24, 3);
  b.writeUIntLE(height - 1, 27, 3);
  return b;
}

describe('sniffImage', () => {
  it('recognises JPEG, PNG, GIF and WebP with their sizes', () => {
    assert.deepEqual(sniffImage(makeJpeg({ width: 1024, height: 768 })), { format: 'jpeg', width: 1024, height: 768 });
    assert.deepEqual(sniffImage(png(640, 480)), { format: 'png', width: 640, height: 480 });
    assert.deepEqual(sniffImage(Buffer.from('GIF89a\x10\x00\x20\x00', 'latin1')), { format: 'gif', width: 16, height: 32 });
    assert.deepEqual(sniffImage(webpVp8x(300, 200)), { format: 'webp', width: 300, height: 200 });
  });

  it('recognises HEIC without a size', () => {
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0', 'latin1')]);
    assert.deepEqual(sniffImage(heic), { format: 'heic', width: null, height: null });
  });

  it('refuses what is not an image: base64 text, HTML, a path', () => {
    const jpeg = makeJpeg();
    assert.equal(sniffImage(Buffer.from(jpeg.toString('base64'))), null);
    assert.equal(sniffImage(Buffer.from('<!DOCTYPE html><html></html>')), null);
    assert.equal(sniffImage(Buffer.from('photos/levis-1.jpg')), null);
    assert.equal(sniffImage(Buffer.alloc(0)), null);
  });
});
