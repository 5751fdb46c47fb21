import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REPO, REPO_2, REPOSITORY_SCHEDULES, SAMPLE_METADATA, SCHEDULES } from './catalog-samples.testing';
import { toEventData } from './event-codec';
import {
  isCronExpression,
  jobArgsForSchedule,
  rawArgsForSchedule,
  type RepositorySchedule,
  type Schedule,
} from './schedule';
import { isCatalogError } from './validation';

const schedule = (s: object) => s as Schedule;

describe('schedules', () => {
  it('accepts 5- and 6-field cron expressions and nicknames, refuses the rest', () => {
    for (const c of ['0 2 * * *', '*/15 * * * *', '0 0 3 * * 0', '@daily', '@hourly', '0 2 * * MON-FRI']) {
      assert.ok(isCronExpression(c), c);
    }
    for (const c of ['', 'daily', '61 * * * *', '* * *', '0 25 * * *', 42, null, 'x'.repeat(200)]) {
      assert.equal(isCronExpression(c), false, String(c));
    }
  });

  it('builds job args from the top-level fields of the kind plus options', () => {
    const [backup, forget, check] = SCHEDULES.map(schedule);
    assert.deepEqual(rawArgsForSchedule(backup), { paths: ['/srv'], excludes: ['*.tmp'], tags: ['nightly'] });
    assert.deepEqual(rawArgsForSchedule(forget), {
      prune: true,
      policy: { keep_daily: 7, keep_within: '1y2m' },
    });
    assert.deepEqual(rawArgsForSchedule(check), { read_data_subset: '10%' });
    const withOptions = schedule({ ...backup, options: { one_file_system: true, paths: ['/ignored'] } });
    assert.deepEqual(rawArgsForSchedule(withOptions), {
      one_file_system: true,
      paths: ['/srv'],
      excludes: ['*.tmp'],
      tags: ['nightly'],
    });
    const r = jobArgsForSchedule(withOptions);
    assert.ok(r.ok);
  });

  it('reports arg problems under the schedule field they came from', () => {
    const [backup, forget, check] = SCHEDULES.map(schedule);
    const field = (s: object, prefix = '') => {
      const r = jobArgsForSchedule(schedule(s), prefix);
      assert.equal(r.ok, false, JSON.stringify(s));
      return r.ok ? '' : r.issues[0].field;
    };
    assert.equal(field({ ...backup, paths: undefined }), 'paths');
    assert.equal(field({ ...backup, tags: ['a,b'] }, 'schedules.0'), 'schedules.0.tags');
    assert.equal(field({ ...backup, options: { limit_upload_kib: 0 } }), 'options.limit_upload_kib');
    assert.equal(field({ ...backup, options: { dry_run: true } }), 'options.dry_run');
    assert.equal(field({ ...forget, retention: undefined }), 'retention');
    assert.equal(field({ ...forget, retention: { keep_daily: 0 } }), 'retention.keep_daily');
    assert.equal(field({ ...check, options: { read_data_subset: '0%' } }), 'options.read_data_subset');
  });
});

describe('repository schedules', () => {
  const changed = (schedules: unknown[]) =>
    toEventData(
      { type: 'RepositorySchedulesChanged', data: { repository_id: REPO, version: 1, schedules } } as never,
      SAMPLE_METADATA,
    );
  const fieldOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      return isCatalogError(e) ? e.field : String(e);
    }
    return undefined;
  };

  it('builds maintenance and copy args: retention as policy, the destination as to_repository_id', () => {
    const [forget, check, copy] = REPOSITORY_SCHEDULES;
    const r = jobArgsForSchedule(forget as unknown as RepositorySchedule);
    assert.ok(r.ok);
    assert.deepEqual(JSON.parse(JSON.stringify(r.value)), {
      group_by: ['host', 'paths'],
      prune: true,
      policy: { keep_daily: 7, keep_weekly: 4 },
    });
    assert.deepEqual(rawArgsForSchedule(check as unknown as RepositorySchedule), { read_data_subset: '5%' });
    assert.deepEqual(rawArgsForSchedule(copy as unknown as RepositorySchedule), { to_repository_id: REPO_2 });
  });

  it('accepts only repository kinds and checks each fire’s args under the schedule’s field names', () => {
    assert.equal(changed([...REPOSITORY_SCHEDULES]).type, 'RepositorySchedulesChanged');
    const [forget, , copy] = REPOSITORY_SCHEDULES;
    assert.equal(
      fieldOf(() => changed([{ ...forget, kind: 'backup' }])),
      'data.schedules.0.kind',
    );
    assert.equal(
      fieldOf(() => changed([{ ...copy, to_repository_id: undefined }])),
      'data.schedules.0.to_repository_id',
    );
    assert.equal(
      fieldOf(() => changed([{ ...forget, retention: {} }])),
      'data.schedules.0.retention',
    );
    assert.equal(
      fieldOf(() => changed([forget, forget])),
      'data.schedules.1.id',
    );
    assert.equal(
      fieldOf(() => changed([{ ...forget, paths: ['/srv'] }])),
      'data.schedules.0.paths',
    );
  });
});
