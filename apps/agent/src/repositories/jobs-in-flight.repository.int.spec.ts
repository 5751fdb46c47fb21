import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { JobsInFlightRepository } from './jobs-in-flight.repository';

describe('JobsInFlightRepository (real files)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-inflight-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hands a new process the jobs the previous one started and never finished, once', () => {
    const first = new JobsInFlightRepository(dir);
    assert.deepEqual(first.takeLeftovers().jobIds, []);
    first.started('job-a');
    first.started('job-b');
    first.finished('job-a');
    first.finished('job-unknown');
    const second = new JobsInFlightRepository(dir);
    assert.deepEqual(second.takeLeftovers().jobIds, ['job-b']);
    assert.deepEqual(new JobsInFlightRepository(dir).takeLeftovers().jobIds, [], 'taken once');
  });

  it('moves an unreadable file aside and reports it instead of guessing', () => {
    const file = path.join(dir, 'jobs-in-flight.json');
    fs.writeFileSync(file, '{"schema_version":1,"job_ids":"nope"}');
    const r = new JobsInFlightRepository(dir).takeLeftovers();
    assert.deepEqual(r.jobIds, []);
    assert.match(r.corrupt?.message ?? '', /expected job_ids/);
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('jobs-in-flight.json.corrupt-')).length, 1);
  });
});
