// Recognises the image formats Vinted accepts and reads their pixel size from the header.
//
// Checking the magic bytes is what lets the fake catch a sender that uploads base64 text, a file
// path or an HTML error page instead of the photo itself.

/** @returns {{format: string, width: number|null, height: number|null} | null} */
export function sniffImage(bytes) {
  if (isJpeg(bytes)) return { format: 'jpeg', ...jpegSize(bytes) };
  if (isPng(bytes)) return { format: 'png', width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (isGif(bytes)) return { format: 'gif', width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  if (isWebp(bytes)) return { format: 'webp', ...webpSize(bytes) };
  if (isHeif(bytes)) return { format: 'heic', width: null, height: null };
  return null;
}

function isJpeg(b) {
  return b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function isPng(b) {
  return b.length >= 24 && b.toString('latin1', 0, 8) === '\x89PNG\r\n\x1a\n';
}

function isGif(b) {
  return b.length >= 10 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6));
}

function isWebp(b) {
  return b.length >= 16 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP';
}

function isHeif(b) {
  return b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp' &&
    /^(heic|heix|hevc|heim|heis|mif1|msf1|avif)$/.test(b.toString('latin1', 8, 12));
}

// Walks the JPEG segments up to the first start-of-frame marker, which holds the size.
function jpegSize(b) {
  let at = 2;
  while (at + 9 < b.length) {
    if (b[at] !== 0xff) return { width: null, height: null };
    const marker = b[at + 1];
    if (marker === 0xff) { at += 1; continue; } // Fill byte.
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isStartOfFrame) return { height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
    if (marker === 0xd9 || marker === 0xda) break; // End of image / start of scan without a frame.
    at += 2 + b.readUInt16BE(at + 2);
  }
  return { width: null, height: null };
}

function webpSize(b) {
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X' && b.length >= 30) {
    return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  }
  if (chunk === 'VP8 ' && b.length >= 30) {
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  }
  if (chunk === 'VP8L' && b.length >= 25) {
    const bits = b.readUInt32LE(21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  return { width: null, height: null };
}
