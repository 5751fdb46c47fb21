import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventStoreError, type EventStore, type ExpectedRevision } from '@rf/event-store';
import type { EventData, Position, RecordedEvent } from '@rf/events';
import { LogMigration, MigrationError } from './log-migration.service';

const at = (n: number): Position => ({ commit: BigInt(n), prepare: BigInt(n) });

function recorded(streamId: string, revision: number, position: number): RecordedEvent {
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    type: 'Probe',
    streamId,
    revision,
    position: at(position),
    data: { revision },
    metadata: { correlation_id: 'c' },
    created: new Date(Date.UTC(2026, 0, 1, 0, 0, position)),
  };
}

/** A source log of the given events (global order = array order). */
function source(events: readonly RecordedEvent[]): EventStore {
  return {
    headPosition: () => Promise.resolve(events.at(-1)?.position ?? null),
    readAll: async function* (o: { fromPosition?: Position | 'start'; maxCount?: number } = {}) {
      const from = o.fromPosition;
      let n = 0;
      for (const e of events) {
        if (from !== undefined && from !== 'start' && e.position.commit < from.commit) continue;
        if (o.maxCount !== undefined && n++ >= o.maxCount) return;
        yield e;
      }
    },
  } as unknown as EventStore;
}

/** A target that holds nothing readable and answers appends as told; records every append. */
class Target {
  readonly appends: Array<{ stream: string; expected: ExpectedRevision | undefined; ids: string[] }> = [];
  constructor(private readonly answer: (expected: ExpectedRevision | undefined) => Error | undefined) {}
  readStream(stream: string): AsyncIterable<RecordedEvent> {
    return (async function* () {
      yield* [];
      throw new EventStoreError('StreamNotFound', `stream ${stream} not found`, { stream });
    })();
  }
  append(stream: string, events: readonly EventData[], o: { expectedRevision?: ExpectedRevision } = {}) {
    this.appends.push({ stream, expected: o.expectedRevision, ids: events.map((e) => e.id) });
    const err = this.answer(o.expectedRevision);
    return err ? Promise.reject(err) : Promise.resolve({ nextExpectedRevision: 0, position: at(0) });
  }
}

describe('LogMigration.copy against a target that already holds part of an append', () => {
  const events = [0, 1, 2, 3].map((r) => recorded('job-a', r, r + 1));

  it('appends only what the target lacks, at the revision the target names', async () => {
    const target = new Target((expected) =>
      expected === 'no_stream'
        ? new EventStoreError('WrongExpectedVersion', 'x', { stream: 'job-a', expected, actual: 1 })
        : undefined,
    );
    const migration = new LogMigration(source(events), target as unknown as EventStore);
    const result = await migration.copy();
    assert.deepEqual(result, { copied: 2, present: 2, complete: true });
    assert.deepEqual(
      target.appends.map((a) => [a.expected, a.ids.length]),
      [
        ['no_stream', 4],
        [1, 2],
      ],
    );
    assert.deepEqual(target.appends[1]!.ids, [events[2]!.id, events[3]!.id]);
  });

  it('counts a group the target holds whole as present, appending nothing more', async () => {
    const target = new Target(
      (expected) =>
        new EventStoreError('WrongExpectedVersion', 'x', { stream: 'job-a', expected, actual: 3 }),
    );
    const result = await new LogMigration(source(events), target as unknown as EventStore).copy();
    assert.deepEqual(result, { copied: 0, present: 4, complete: true });
    assert.equal(target.appends.length, 1);
  });

  it('refuses a target whose stream is behind where the source continues it: not a copy of this log', async () => {
    const later = [recorded('job-b', 0, 1), recorded('job-a', 5, 2)];
    const target = new Target((expected) =>
      expected === 4
        ? new EventStoreError('WrongExpectedVersion', 'x', { stream: 'job-a', expected, actual: 'no_stream' })
        : undefined,
    );
    await assert.rejects(
      new LogMigration(source(later), target as unknown as EventStore).copy(),
      (err: unknown) =>
        err instanceof MigrationError &&
        /stream job-a ends at revision no_stream, but the source continues it from revision 5/.test(
          err.message,
        ),
    );
  });

  it('carries each event with its id, data and original time, and groups consecutive events of a stream', async () => {
    const mixed = [
      recorded('job-a', 0, 1),
      recorded('job-a', 1, 2),
      recorded('job-b', 0, 3),
      recorded('job-a', 2, 4),
    ];
    const sent: EventData[][] = [];
    const target = new Target(() => undefined);
    const append = target.append.bind(target);
    target.append = (stream, evs, o) => {
      sent.push([...evs]);
      return append(stream, evs, o);
    };
    await new LogMigration(source(mixed), target as unknown as EventStore, { batchSize: 10 }).copy();
    assert.deepEqual(
      target.appends.map((a) => [a.stream, a.expected, a.ids.length]),
      [
        ['job-a', 'no_stream', 2],
        ['job-b', 'no_stream', 1],
        ['job-a', 1, 1],
      ],
    );
    assert.deepEqual(sent[0]![0], {
      id: mixed[0]!.id,
      type: 'Probe',
      data: { revision: 0 },
      metadata: { correlation_id: 'c', original_created: '2026-01-01T00:00:01.000Z' },
    });
  });
});
