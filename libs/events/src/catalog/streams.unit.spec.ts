import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alertStream,
  apiTokenStream,
  channelStream,
  deliveryStream,
  enrolmentStream,
  hostStream,
  jobLogStream,
  jobStream,
  parseStreamName,
  schedulesStream,
  snapshotsStream,
  streamPrefix,
  userStream,
} from './streams';

describe('stream names', () => {
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it('builds category-id names and parses them back (ids may contain dashes)', () => {
    const cases: Array<[string, string]> = [
      [hostStream(id), 'host'],
      [jobStream(id), 'job'],
      [jobLogStream(id), 'joblog'],
      [schedulesStream(id), 'schedules'],
      [snapshotsStream(id), 'snapshots'],
      [userStream(id), 'user'],
      [apiTokenStream(id), 'token'],
      [enrolmentStream(id), 'enrolment'],
      [alertStream(id), 'alert'],
      [channelStream(id), 'channel'],
      [deliveryStream(id), 'delivery'],
    ];
    for (const [name, category] of cases) {
      assert.equal(name, `${category}-${id}`);
      assert.deepEqual(parseStreamName(name), { category, id });
    }
  });

  it('keeps job and joblog apart under prefix subscriptions', () => {
    assert.equal(streamPrefix('job'), 'job-');
    assert.equal(jobLogStream('x').startsWith(streamPrefix('job')), false);
  });

  it('rejects ids that would make ambiguous or unsafe stream names', () => {
    for (const bad of ['', ' ', 'a/b', 'a b', '-x', 'x'.repeat(129), 'é']) {
      assert.throws(() => hostStream(bad), /host stream id must be an id/);
    }
  });

  it('returns null for names outside the catalog', () => {
    for (const name of ['', 'host', 'host-', '-abc', 'unknown-1', '$all', 'host-a b', '$$host-1']) {
      assert.equal(parseStreamName(name), null, name);
    }
  });
});
