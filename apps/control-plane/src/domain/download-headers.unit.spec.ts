import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentDisposition, contentTypeFor } from './download-headers';

describe('download headers', () => {
  it('chooses a content type by extension, octet-stream otherwise', () => {
    assert.equal(contentTypeFor('Report.PDF'), 'application/pdf');
    assert.equal(contentTypeFor('notes.txt'), 'text/plain; charset=utf-8');
    assert.equal(contentTypeFor('Makefile'), 'application/octet-stream');
    assert.equal(contentTypeFor('.bashrc'), 'application/octet-stream');
  });

  it('always says attachment, with an ASCII fallback and the exact UTF-8 name', () => {
    assert.equal(
      contentDisposition('grüße "x".txt'),
      `attachment; filename="gr__e _x_.txt"; filename*=UTF-8''gr%C3%BC%C3%9Fe%20%22x%22.txt`,
    );
  });
});
