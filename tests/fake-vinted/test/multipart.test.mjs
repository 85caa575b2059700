import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildMultipart } from '../client.mjs';
import { boundaryFromContentType, MultipartError, parseFormData, parseHeaderValue, parseMultipart } from '../lib/multipart.mjs';

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// Bytes chosen to break naive parsers: CRLFs, blank lines, dashes, the boundary text itself (not
// at a line start, or at a line start but followed by more characters, so not a delimiter), a
// prefix of the boundary, NULs, and every byte value. A real delimiter (CRLF--boundary then CRLF
// or "--") cannot appear in content by RFC 2046, so it is not here.
function nastyBytes(boundary) {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]),
    Buffer.from(`\r\n--\r\nx--${boundary}\r\n`), // the boundary text, not at a line start
    Buffer.from(`\r\n--${boundary.slice(0, -1)}\r\n`), // a line with a prefix of the boundary
    Buffer.from(`\r\n--${boundary}X not a delimiter\r\n`),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
    Buffer.from('\r\n\r\n--\r\n'),
  ]);
}

describe('parseHeaderValue', () => {
  it('lower-cases the value and parameter names and unquotes values', () => {
    const parsed = parseHeaderValue('Multipart/Form-Data; Charset=utf-8; BOUNDARY="a b;c"');
    assert.equal(parsed.value, 'multipart/form-data');
    assert.deepEqual(parsed.params, { charset: 'utf-8', boundary: 'a b;c' });
  });

  it('keeps semicolons and escaped quotes inside quoted strings', () => {
    const parsed = parseHeaderValue('form-data; name="a;b"; filename="say \\"hi\\".jpg"');
    assert.deepEqual(parsed.params, { name: 'a;b', filename: 'say "hi".jpg' });
  });
});

describe('boundaryFromContentType', () => {
  it('reads plain and quoted boundaries', () => {
    assert.equal(boundaryFromContentType('multipart/form-data; boundary=----WebKitFormBoundaryx7'), '----WebKitFormBoundaryx7');
    assert.equal(boundaryFromContentType('multipart/form-data; boundary="simple boundary:=?"'), 'simple boundary:=?');
  });

  it('refuses other types and missing or oversized boundaries', () => {
    assert.throws(() => boundaryFromContentType('application/json'), MultipartError);
    assert.throws(() => boundaryFromContentType('multipart/form-data'), MultipartError);
    assert.throws(() => boundaryFromContentType(`multipart/form-data; boundary=${'x'.repeat(71)}`), MultipartError);
    assert.throws(() => boundaryFromContentType(undefined), MultipartError);
  });
});

describe('parseFormData', () => {
  it('returns fields and binary files byte for byte, even with CRLF and boundary-like bytes', () => {
    const boundary = 'XyZ123';
    const bytes = nastyBytes(boundary);
    const { body, contentType } = buildMultipart([
      { name: 'photo[type]', value: 'item' },
      { name: 'photo[temp_uuid]', value: '0b7c5c3e-58a4-4f4c-9a0e-1a1f3f0f9e11' },
      { name: 'photo[file]', filename: 'a.jpg', contentType: 'image/jpeg', data: bytes },
    ], { boundary });
    const form = parseFormData(body, contentType);
    assert.deepEqual(form.fields, { 'photo[type]': 'item', 'photo[temp_uuid]': '0b7c5c3e-58a4-4f4c-9a0e-1a1f3f0f9e11' });
    assert.equal(form.files.length, 1);
    const [file] = form.files;
    assert.equal(file.field, 'photo[file]');
    assert.equal(file.filename, 'a.jpg');
    assert.equal(file.contentType, 'image/jpeg');
    assert.equal(file.size, bytes.length);
    assert.equal(file.sha256, sha256(bytes));
    assert.ok(file.bytes.equals(bytes));
  });

  it('works with a quoted boundary containing spaces and punctuation', () => {
    const boundary = "it's a (quoted) boundary:=?";
    const data = Buffer.from(`x\r\n--it's a (quoted) boundary:=?-ish\r\ny`);
    const { body, contentType } = buildMultipart(
      [{ name: 'f', filename: 'f.bin', data }, { name: 'v', value: 'été' }],
      { boundary, quoteBoundary: true },
    );
    assert.match(contentType, /boundary="it's a \(quoted\) boundary:=\?"$/);
    const form = parseFormData(body, contentType);
    assert.ok(form.files[0].bytes.equals(data));
    assert.equal(form.fields.v, 'été');
  });

  it('ignores a preamble and an epilogue, and accepts padding after a boundary', () => {
    const body = Buffer.from(
      'This is the preamble.\r\n--b1  \t\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n' +
      '--b1\r\nContent-Disposition: form-data; name="b"\r\n\r\n2\r\n--b1--\r\nThis is the epilogue.\r\n--b1\r\n',
    );
    assert.deepEqual(parseFormData(body, 'multipart/form-data; boundary=b1').fields, { a: '1', b: '2' });
  });

  it('handles empty values, empty files, missing content types and header-less parts', () => {
    const body = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="empty"\r\n\r\n\r\n' +
      '--b\r\ncontent-disposition: form-data; name="nofile"; filename=""\r\n\r\n\r\n--b--',
    );
    const form = parseFormData(body, 'multipart/form-data; boundary=b');
    assert.deepEqual(form.fields, { empty: '' });
    assert.deepEqual(form.files.map((f) => [f.field, f.filename, f.size, f.contentType]), [['nofile', '', 0, null]]);
    assert.throws(() => parseMultipart(Buffer.from('--b\r\n\r\nbare\r\n--b--'), 'b'), /Content-Disposition/);
  });

  it('decodes RFC 5987 filename* and keeps UTF-8 filenames', () => {
    const body = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="f"; filename="fallback.jpg"; filename*=UTF-8\'\'%E2%82%AC%20pull.jpg\r\n\r\nx\r\n' +
      '--b\r\nContent-Disposition: form-data; name="g"; filename="chaussures-été.jpg"\r\n\r\ny\r\n--b--\r\n',
    );
    const form = parseFormData(body, 'multipart/form-data; boundary=b');
    assert.deepEqual(form.files.map((f) => f.filename), ['€ pull.jpg', 'chaussures-été.jpg']);
  });

  it('keeps a field name containing a semicolon', () => {
    const body = Buffer.from('--b\r\nContent-Disposition: form-data; name="a;b"\r\n\r\nv\r\n--b--');
    assert.deepEqual(parseFormData(body, 'multipart/form-data; boundary=b').fields, { 'a;b': 'v' });
  });

  it('rejects truncated and malformed bodies', () => {
    const ct = 'multipart/form-data; boundary=b';
    const cases = {
      'no boundary at all': 'hello',
      'no closing delimiter': '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1',
      'unterminated headers': '--b\r\nContent-Disposition: form-data; name="a"',
      'garbage after boundary': '--bXX\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--',
      'LF-only line endings': '--b\nContent-Disposition: form-data; name="a"\n\n1\n--b--',
      'not form-data': '--b\r\nContent-Disposition: attachment; name="a"\r\n\r\n1\r\n--b--',
      'no name': '--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--',
    };
    for (const [label, text] of Object.entries(cases)) {
      assert.throws(() => parseFormData(Buffer.from(text), ct), MultipartError, label);
    }
  });
});
