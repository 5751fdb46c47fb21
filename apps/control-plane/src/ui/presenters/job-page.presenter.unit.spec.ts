import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etaText, failureOf, statRowsOf } from './job-page.presenter';

describe('job page presentation', () => {
  it('gives operator advice for known error codes and for lost jobs', () => {
    const locked = failureOf({
      status: 'failed',
      error: 'Fatal: repository is already locked',
      errorCode: 'repo_locked',
    });
    assert.match(locked?.advice ?? '', /unlock job/);
    assert.equal(locked?.error, 'Fatal: repository is already locked');
    assert.match(failureOf({ status: 'lost', error: null, errorCode: null })?.advice ?? '', /lost contact/);
    assert.equal(failureOf({ status: 'failed', error: 'odd', errorCode: 'something_new' })?.advice, null);
  });

  it('shows no failure for successful or plainly cancelled jobs', () => {
    assert.equal(failureOf({ status: 'succeeded', error: null, errorCode: null }), null);
    assert.equal(failureOf({ status: 'cancelled', error: null, errorCode: null }), null);
  });

  it('formats restic summary stats in a readable order and skips nested objects', () => {
    const rows = statRowsOf({
      data_added: 3 * 1024 ** 3,
      snapshot_id: 'abc',
      files_new: 1200,
      nested: { a: 1 },
      extra_field: 7,
    });
    assert.deepEqual(rows, [
      { label: 'Snapshot', value: 'abc' },
      { label: 'New files', value: '1,200' },
      { label: 'Data added', value: '3.0 GiB' },
      { label: 'extra field', value: '7' },
    ]);
    assert.deepEqual(statRowsOf(null), []);
  });

  it('writes times left in s, min and h', () => {
    assert.deepEqual([etaText(42), etaText(125), etaText(7260)], ['42 s', '2 min 5 s', '2 h 1 min']);
  });
});
