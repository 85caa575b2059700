// Real, decodable PNG files for the photos of test products.

import { createHash, randomBytes } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { crc32 } from './zip.mjs';

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * An 8-bit RGB PNG. `noise: true` fills it with random pixels, which do not compress, so the
 * file size is about width × height × 3 (how the tests get a photo over 1 MiB); otherwise a
 * gradient tinted by `seed`.
 */
export function makePng({ width, height, noise = false, seed = 0 }) {
  const rowBytes = width * 3;
  const raw = Buffer.alloc((rowBytes + 1) * height);
  const pixels = noise ? randomBytes(rowBytes * height) : null;
  for (let y = 0; y < height; y += 1) {
    const row = y * (rowBytes + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x += 1) {
      const at = row + 1 + x * 3;
      if (pixels) {
        pixels.copy(raw, at, y * rowBytes + x * 3, y * rowBytes + x * 3 + 3);
      } else {
        raw[at] = (x * 255 / Math.max(1, width - 1) + seed * 40) & 0xff;
        raw[at + 1] = (y * 255 / Math.max(1, height - 1) + seed * 90) & 0xff;
        raw[at + 2] = (seed * 70 + 60) & 0xff;
      }
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  header[10] = 0; // compression
  header[11] = 0; // filter
  header[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: noise ? 0 : 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
