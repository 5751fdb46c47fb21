import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { catConfigArgs, copyArgs, initCopyChunkerParamsArgs } from '../args/restic-args';
import { parseCopyLine, parseCopyOutput } from './restic-copy.parser';

// Real output (stdout; blank lines are dropped by the line splitter), recorded with the restic versions named.
const OUT_014 = [
  'snapshot b55c7291 of [/tmp/lk/cp/data] at 2026-12-04 23:00:52.403724097 +0000 UTC)',
  '  copy started, this may take a while...',
  '[0:00] 100.00%  2 / 2 packs copied',
  'snapshot 9b2974d8 saved',
  'snapshot 9e9c7d91 of [/tmp/lk/cp/data] at 2026-12-04 23:00:52.977220672 +0000 UTC)',
  '  copy started, this may take a while...',
  '[0:00]          0 packs copied',
  'snapshot 92764013 saved',
];
const AGAIN_014 = [
  'snapshot 9e9c7d91 of [/tmp/lk/cp/data] at 2026-12-04 23:00:52.977220672 +0000 UTC)',
  'skipping source snapshot 9e9c7d91, was already copied to snapshot 92764013',
];
const OUT_018 = [
  'snapshot eedbaba0 of [/tmp/lk/cp/data] at 2026-12-04 23:00:34.757514668 +0000 UTC by root@vm',
  '  copy started, this may take a while...',
  '[0:00] 100.00%  2 / 2 packs copied',
  'snapshot a703ae6d saved',
];
const OUT_019 = [
  'snapshot 81ad2888 of [/tmp/lk/cp/data] at 2026-12-04 23:00:42.439205327 +0000 UTC by root@vm',
  '  copy started, this may take a while...',
  '[0:00] 100.00%  2 / 2 packs copied',
  'snapshot 2b3b102e of [/tmp/lk/cp/data] at 2026-12-04 23:00:43.324561236 +0000 UTC by root@vm',
  '  copy started, this may take a while...',
  '[0:00]          0 packs copied',
  'snapshot 84bad0bd saved, copied from source snapshot 81ad2888',
  'snapshot d91adf3f saved, copied from source snapshot 2b3b102e',
];

describe('restic copy output', () => {
  it('0.14 and 0.18: a saved line belongs to the source block before it', () => {
    assert.deepEqual(parseCopyOutput(OUT_014), {
      copied: [
        { source: 'b55c7291', snapshot: '9b2974d8' },
        { source: '9e9c7d91', snapshot: '92764013' },
      ],
      skipped: [],
    });
    assert.deepEqual(parseCopyOutput(OUT_018).copied, [{ source: 'eedbaba0', snapshot: 'a703ae6d' }]);
  });

  it('0.19: saved lines come at the end and name their source', () => {
    assert.deepEqual(parseCopyOutput(OUT_019).copied, [
      { source: '81ad2888', snapshot: '84bad0bd' },
      { source: '2b3b102e', snapshot: 'd91adf3f' },
    ]);
  });

  it('snapshots already in the destination are reported as skipped (0.14)', () => {
    assert.deepEqual(parseCopyOutput(AGAIN_014), {
      copied: [],
      skipped: [{ source: '9e9c7d91', snapshot: '92764013' }],
    });
    assert.deepEqual(parseCopyOutput([]), { copied: [], skipped: [] });
  });

  it('progress lines give the pack counts and the fraction, when restic knows the total', () => {
    assert.deepEqual(parseCopyLine('[0:00] 100.00%  2 / 2 packs copied'), {
      type: 'progress',
      percentDone: 1,
      packsDone: 2,
      packsTotal: 2,
      secondsElapsed: 0,
    });
    assert.deepEqual(parseCopyLine('[1:02:03] 45.50%  91 / 200 packs copied'), {
      type: 'progress',
      percentDone: 0.455,
      packsDone: 91,
      packsTotal: 200,
      secondsElapsed: 3723,
    });
    assert.deepEqual(parseCopyLine('[0:00]          0 packs copied'), {
      type: 'progress',
      percentDone: undefined,
      packsDone: 0,
      packsTotal: undefined,
      secondsElapsed: 0,
    });
    assert.deepEqual(parseCopyLine('Fatal: unable to open config file'), { type: 'other' });
  });
});

describe('copy command lines', () => {
  it('carry no repository and no secret; snapshot ids follow --', () => {
    assert.deepEqual(copyArgs(), { command: 'copy', args: [] });
    assert.deepEqual(copyArgs({ snapshotIds: ['latest', 'abcd1234'] }), {
      command: 'copy',
      args: ['--', 'latest', 'abcd1234'],
    });
    assert.throws(() => copyArgs({ snapshotIds: ['--from-repo=/x'] }), /snapshotIds\[0\]/);
    assert.deepEqual(initCopyChunkerParamsArgs(), {
      command: 'init',
      args: ['--json', '--copy-chunker-params'],
    });
    assert.deepEqual(catConfigArgs(), { command: 'cat', args: ['config'] });
  });
});
