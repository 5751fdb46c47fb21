import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, SAMPLE_ARGS } from './catalog-samples.testing';
import { assertJobArgs, JOB_KINDS, validateJobArgs } from './job-args';
import { isCatalogError } from './validation';

/** Asserts that args fail for `kind` and that the first issue names `field`. */
function rejects(kind: unknown, args: unknown, field: string): void {
  const r = validateJobArgs(kind, args);
  assert.equal(r.ok, false, `expected ${kind} ${JSON.stringify(args)} to be rejected`);
  if (!r.ok) {
    assert.equal(r.issues[0].field, field, JSON.stringify(r.issues));
    assert.ok(r.issues[0].message.startsWith(field), r.issues[0].message);
  }
}

describe('validateJobArgs', () => {
  it('accepts the full sample args of every kind and returns them', () => {
    for (const kind of JOB_KINDS) {
      const r = validateJobArgs(kind, clone(SAMPLE_ARGS[kind]));
      assert.ok(r.ok, `${kind}: ${JSON.stringify(!r.ok && r.issues)}`);
      assert.deepEqual(JSON.parse(JSON.stringify(r.value)), SAMPLE_ARGS[kind]);
    }
  });

  it('treats missing args as {} for kinds without required args', () => {
    for (const kind of ['init', 'prune', 'check', 'unlock', 'snapshots', 'stats'] as const) {
      assert.ok(validateJobArgs(kind, undefined).ok, kind);
      assert.ok(validateJobArgs(kind, null).ok, kind);
    }
    rejects('backup', undefined, 'args.paths');
    rejects('forget', undefined, 'args.policy');
    rejects('restore', {}, 'args.snapshot_id');
  });

  it('rejects an unknown kind naming the kind field', () => {
    rejects('rm-rf', {}, 'kind');
    rejects(42, {}, 'kind');
  });

  it('rejects non-object args', () => {
    rejects('init', [], 'args');
    rejects('init', 'x', 'args');
  });

  it('rejects unknown args (an ignored arg would change what restic does)', () => {
    rejects('backup', { paths: ['/a'], dry_run: true }, 'args.dry_run');
    rejects('init', { x: 1 }, 'args.x');
  });

  it('backup: paths are required, non-empty, without NUL and not flag-like', () => {
    rejects('backup', { paths: [] }, 'args.paths');
    rejects('backup', { paths: [''] }, 'args.paths');
    rejects('backup', { paths: ['/a\0b'] }, 'args.paths');
    rejects('backup', { paths: ['--password-command=sh'] }, 'args.paths');
    rejects('backup', { paths: '/srv' }, 'args.paths');
    rejects('backup', { paths: [1] }, 'args.paths');
    rejects('backup', { paths: ['/a'], tags: ['a,b'] }, 'args.tags');
    rejects('backup', { paths: ['/a'], excludes: ['a\nb'] }, 'args.excludes');
    rejects('backup', { paths: ['/a'], one_file_system: 'yes' }, 'args.one_file_system');
    rejects('backup', { paths: ['/a'], limit_upload_kib: 0 }, 'args.limit_upload_kib');
    rejects('backup', { paths: ['/a'], limit_download_kib: 1.5 }, 'args.limit_download_kib');
    assert.ok(validateJobArgs('backup', { paths: ['C:\\Users\\me', './rel', 'x y'] }).ok);
  });

  it('forget: needs at least one keep rule; rules are validated', () => {
    rejects('forget', { policy: {} }, 'args.policy');
    rejects('forget', { policy: { keep_last: null } }, 'args.policy');
    rejects('forget', { policy: 'keep 3' }, 'args.policy');
    rejects('forget', { policy: { keep_last: 0 } }, 'args.policy.keep_last');
    rejects('forget', { policy: { keep_daily: -1 } }, 'args.policy.keep_daily');
    rejects('forget', { policy: { keep_within: '7 days' } }, 'args.policy.keep_within');
    rejects('forget', { policy: { keep_within: 'd7' } }, 'args.policy.keep_within');
    rejects('forget', { policy: { keep_tags: [] } }, 'args.policy.keep_tags');
    rejects('forget', { policy: { keep_last: 1, keep_forever: 1 } }, 'args.policy.keep_forever');
    rejects('forget', { policy: { keep_last: 1 }, group_by: ['host', 'host'] }, 'args.group_by');
    rejects('forget', { policy: { keep_last: 1 }, group_by: ['hostname'] }, 'args.group_by');
    rejects('forget', { policy: { keep_last: 1 }, prune: 1 }, 'args.prune');
    for (const d of ['7d', '1y2m', '36h', '1y2m3d4h'])
      assert.ok(validateJobArgs('forget', { policy: { keep_within: d } }).ok, d);
    assert.ok(validateJobArgs('forget', { policy: { keep_tags: ['important'] } }).ok);
  });

  it('prune, check, restore, stats: formats restic accepts', () => {
    for (const v of ['unlimited', '5%', '2.5%', '0', '100M'])
      assert.ok(validateJobArgs('prune', { max_unused: v }).ok, v);
    rejects('prune', { max_unused: '5 %' }, 'args.max_unused');
    for (const v of ['10%', '2.5%', '1/5', '5/5', '500M', '2G'])
      assert.ok(validateJobArgs('check', { read_data_subset: v }).ok, v);
    for (const v of ['0%', '101%', '0/5', '6/5', '500', '500MB', 10])
      rejects('check', { read_data_subset: v }, 'args.read_data_subset');
    for (const v of ['latest', 'abcd', 'a'.repeat(64)])
      assert.ok(validateJobArgs('restore', { snapshot_id: v, target: '/r' }).ok, v);
    for (const v of ['abc', 'LATEST', 'xyz123', 'a'.repeat(65)])
      rejects('restore', { snapshot_id: v, target: '/r' }, 'args.snapshot_id');
    rejects('restore', { snapshot_id: 'latest', target: '' }, 'args.target');
    rejects('restore', { snapshot_id: 'latest', target: '-x' }, 'args.target');
    rejects('stats', { mode: 'files-by-contents' }, 'args.mode');
  });

  it('copy: names its destination; snapshots are ids, prefixes or latest, never flag-like', () => {
    rejects('copy', {}, 'args.to_repository_id');
    rejects('copy', { to_repository_id: 'a b' }, 'args.to_repository_id');
    rejects('copy', { to_repository_id: 'r2', snapshots: [] }, 'args.snapshots');
    rejects('copy', { to_repository_id: 'r2', snapshots: ['--from-repo=/x'] }, 'args.snapshots');
    rejects('copy', { to_repository_id: 'r2', host: 'web-1' }, 'args.host');
    const r = validateJobArgs('copy', { to_repository_id: 'r2', snapshots: ['latest', 'abcd1234'] });
    assert.ok(r.ok);
    if (r.ok) assert.deepEqual(r.value.snapshots, ['latest', 'abcd1234']);
  });

  it('uses the given prefix for field paths', () => {
    const r = validateJobArgs('backup', { paths: [] }, { prefix: 'payload.args' });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.issues[0].field, 'payload.args.paths');
  });

  it('rejects prototype-pollution keys and deep nesting before validating', () => {
    rejects('backup', JSON.parse('{"paths":["/a"],"__proto__":{"polluted":1}}'), 'args.__proto__');
    rejects('backup', { paths: ['/a'], constructor: { prototype: {} } }, 'args.constructor');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    let deep: unknown = {};
    for (let i = 0; i < 40; i++) deep = { a: deep };
    const r = validateJobArgs('backup', { paths: ['/a'], x: deep });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.issues[0].message, /nested deeper than 32 levels/);
  });

  it('assertJobArgs throws a coded error naming the field', () => {
    assert.throws(
      () => assertJobArgs('backup', { paths: [] }),
      (e: unknown) => isCatalogError(e, 'invalid_job_args') && e.field === 'args.paths',
    );
    assert.deepEqual(assertJobArgs('init', {}), {});
  });
});
