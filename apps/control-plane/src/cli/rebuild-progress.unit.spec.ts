import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderRebuildProgress } from './rebuild-progress';
import { parseOptions } from './cli-options';

describe('renderRebuildProgress', () => {
  it('draws the bar, events/s and ETA from the position against the head', () => {
    const line = renderRebuildProgress({
      applied: 250_000,
      position: 250_000n,
      head: 1_000_000n,
      eventsPerSecond: 125_000,
      etaSeconds: 6,
      phase: 'replaying',
    });
    assert.equal(line, `[${'#'.repeat(7)}${'-'.repeat(23)}]  25%  250,000 events  125,000 ev/s  ETA 6s`);
  });

  it('says when it swaps and shows a full bar when done', () => {
    const base = { applied: 10, position: 10n, head: 10n, eventsPerSecond: 10, etaSeconds: null };
    assert.match(
      renderRebuildProgress({ ...base, phase: 'swapping' }),
      /100%.*ETA -- {2}swapping tables in$/,
    );
    assert.match(
      renderRebuildProgress({ ...base, phase: 'done', etaSeconds: 99 }),
      /^\[#{30}\] 100%.*ETA 0s$/,
    );
    assert.match(
      renderRebuildProgress({ ...base, phase: 'replaying', position: 1n, head: 1000n, etaSeconds: 3725 }),
      /ETA 1h02m$/,
    );
  });
});

describe('parseOptions', () => {
  it('reads repeated values, --opt=value and flags', () => {
    const o = parseOptions(['--name', 'jobs', '--name=hosts', '--json'], {
      values: ['name'],
      flags: ['json'],
    });
    assert.deepEqual(o.values.get('name'), ['jobs', 'hosts']);
    assert.ok(o.flags.has('json'));
  });

  it('names the option in every error', () => {
    const spec = { values: ['since'], flags: ['json'] };
    assert.throws(() => parseOptions(['--until', 'x'], spec), /unknown option --until/);
    assert.throws(() => parseOptions(['--since'], spec), /--since needs a value/);
    assert.throws(() => parseOptions(['--json=1'], spec), /--json takes no value/);
    assert.throws(() => parseOptions(['stray'], spec), /unexpected argument "stray"/);
  });
});
