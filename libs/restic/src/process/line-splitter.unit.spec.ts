import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from './line-splitter';

function split(chunks: Array<string | Buffer>, max?: number): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l), max);
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

describe('LineSplitter', () => {
  it('ends lines on \\n, \\r\\n and a lone \\r, and drops blank lines', () => {
    assert.deepEqual(split(['a\nb\r\nc\rd\n\n\r\n']), ['a', 'b', 'c', 'd']);
  });

  it('keeps a partial line until its end arrives, also across a \\r\\n split between chunks', () => {
    assert.deepEqual(split(['{"message_', 'type":"status"}\r', '\nnext']), [
      '{"message_type":"status"}',
      'next',
    ]);
  });

  it("removes ANSI escapes such as restic's \\x1b[2K", () => {
    assert.deepEqual(split(['\x1b[2Ksignal interrupt received, cleaning up\n\x1b[1;32mok\x1b[0m\n']), [
      'signal interrupt received, cleaning up',
      'ok',
    ]);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('café ☃\n', 'utf8');
    assert.deepEqual(split([bytes.subarray(0, 4), bytes.subarray(4, 8), bytes.subarray(8)]), ['café ☃']);
  });

  it('cuts an over-long line at the limit and discards its rest', () => {
    const out = split(['x'.repeat(10), 'y'.repeat(10), 'z'.repeat(5), '\nshort\n'], 16);
    assert.deepEqual(out, ['x'.repeat(10) + 'y'.repeat(6), 'short']);
  });

  it('flushes a last line without a newline on end()', () => {
    assert.deepEqual(split(['one\ntwo']), ['one', 'two']);
  });
});
