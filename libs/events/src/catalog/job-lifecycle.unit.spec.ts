import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JOB, SAMPLE_EVENTS, T0 } from './catalog-samples.testing';
import { fleetEvent } from './events';
import {
  evolveJobStatus,
  isFinalStatus,
  isTerminal,
  JOB_LIFECYCLE_EVENT_TYPES,
  JOB_STATUSES,
  JOB_TERMINAL_STATUSES,
  statusFromExitCode,
  type JobLifecycleEvent,
  type JobLifecycleEventType,
  type JobStatus,
} from './job-lifecycle';

const J = JOB;
const T = T0;

/** One valid event of each lifecycle type (the catalog samples: JobFinished reports `warning`). */
const EVENTS = Object.fromEntries(
  JOB_LIFECYCLE_EVENT_TYPES.map((t) => [t, fleetEvent(t, SAMPLE_EVENTS[t])]),
) as { readonly [K in JobLifecycleEventType]: JobLifecycleEvent };

/**
 * The whole state machine, written out by hand: status before → event → status
 * after, with `!` where the event decides the outcome. Rows are the statuses,
 * columns the event types in JOB_LIFECYCLE_EVENT_TYPES order.
 */
// prettier-ignore
const TABLE: Readonly<Record<JobStatus, readonly string[]>> = {
  //           Requested     Dispatched    Accepted      Rejected      Started       CancelReq     Finished      Lost          Progress
  queued:     ['queued',     'dispatched', 'queued',     'failed!',    'running',    'queued',     'warning!',   'lost!',      'running'],
  dispatched: ['dispatched', 'dispatched', 'dispatched', 'failed!',    'running',    'dispatched', 'warning!',   'lost!',      'running'],
  running:    ['running',    'running',    'running',    'failed!',    'running',    'running',    'warning!',   'lost!',      'running'],
  succeeded:  ['succeeded',  'succeeded',  'succeeded',  'succeeded',  'succeeded',  'succeeded',  'succeeded',  'succeeded',  'succeeded'],
  warning:    ['warning',    'warning',    'warning',    'warning',    'warning',    'warning',    'warning',    'warning',    'warning'],
  failed:     ['failed',     'failed',     'failed',     'failed',     'failed',     'failed',     'failed',     'failed',     'failed'],
  cancelled:  ['cancelled',  'cancelled',  'cancelled',  'cancelled',  'cancelled',  'cancelled',  'cancelled',  'cancelled',  'cancelled'],
  // `lost` is the server's guess: only the agent's own JobFinished replaces it.
  lost:       ['lost',       'lost',       'lost',       'lost',       'lost',       'lost',       'warning!',   'lost',       'lost'],
};

const fold = (events: readonly JobLifecycleEvent[]): JobStatus | undefined =>
  events.reduce<JobStatus | undefined>((s, e) => evolveJobStatus(s, e).status, undefined);

const finished = (data: Record<string, unknown>): JobLifecycleEvent =>
  ({ type: 'JobFinished', data: { job_id: J, finished_at: T, ...data } }) as JobLifecycleEvent;

describe('job lifecycle', () => {
  for (const before of JOB_STATUSES) {
    JOB_LIFECYCLE_EVENT_TYPES.forEach((type, col) => {
      const expected = TABLE[before][col]!;
      it(`${before} + ${type} → ${expected}`, () => {
        const step = evolveJobStatus(before, EVENTS[type]);
        assert.deepEqual(step, {
          status: expected.replace('!', ''),
          outcome: expected.endsWith('!'),
        });
      });
    });
  }

  it('starts a job unseen so far as queued, whatever event comes first', () => {
    assert.deepEqual(evolveJobStatus(undefined, EVENTS.JobRequested), { status: 'queued', outcome: false });
    assert.deepEqual(evolveJobStatus(undefined, EVENTS.JobStarted), { status: 'running', outcome: false });
    assert.deepEqual(evolveJobStatus(undefined, EVENTS.JobLost), { status: 'lost', outcome: true });
  });

  it('follows a normal life: requested, dispatched, accepted, started, progressing, finished', () => {
    const steps = (
      ['JobRequested', 'JobDispatched', 'JobAccepted', 'JobStarted', 'JobProgress', 'JobFinished'] as const
    ).map((t) => EVENTS[t]);
    let s: JobStatus | undefined;
    const seen: string[] = [];
    for (const e of steps) {
      s = evolveJobStatus(s, e).status;
      seen.push(s);
    }
    assert.deepEqual(seen, ['queued', 'dispatched', 'dispatched', 'running', 'running', 'warning']);
  });

  it("lets the agent's late JobFinished replace lost, once; a second report changes nothing", () => {
    const lost = fold([EVENTS.JobRequested, EVENTS.JobDispatched, EVENTS.JobStarted, EVENTS.JobLost]);
    assert.equal(lost, 'lost');
    const late = evolveJobStatus(
      lost,
      finished({ status: 'failed', exit_code: -1, error_code: 'agent_restarted' }),
    );
    assert.deepEqual(late, { status: 'failed', outcome: true });
    assert.deepEqual(evolveJobStatus(late.status, finished({ status: 'succeeded', exit_code: 0 })), {
      status: 'failed',
      outcome: false,
    });
  });

  it('keeps the first outcome when outcomes arrive out of order', () => {
    assert.equal(fold([EVENTS.JobRequested, EVENTS.JobFinished, EVENTS.JobLost]), 'warning');
    assert.equal(fold([EVENTS.JobRequested, EVENTS.JobRejected, EVENTS.JobFinished]), 'failed');
    assert.equal(fold([EVENTS.JobRequested, EVENTS.JobRejected, EVENTS.JobLost]), 'failed');
    assert.equal(
      fold([EVENTS.JobRequested, finished({ status: 'cancelled', exit_code: -1 }), EVENTS.JobStarted]),
      'cancelled',
    );
    // Late dispatch, start or progress never reopen a finished job.
    assert.equal(
      fold([EVENTS.JobRequested, EVENTS.JobFinished, EVENTS.JobDispatched, EVENTS.JobProgress]),
      'warning',
    );
  });

  it('takes the status from the exit code when JobFinished carries none or an invalid one', () => {
    const cases: Array<[Record<string, unknown>, JobStatus]> = [
      [{ exit_code: 0 }, 'succeeded'],
      [{ exit_code: 3 }, 'warning'],
      [{ exit_code: 1 }, 'failed'],
      [{ exit_code: -1 }, 'failed'],
      [{}, 'failed'],
      [{ status: 'exploded', exit_code: 3 }, 'warning'],
      [{ status: 'lost', exit_code: 0 }, 'succeeded'],
      [{ status: 'cancelled', exit_code: 1 }, 'cancelled'],
    ];
    for (const [data, expected] of cases) {
      assert.deepEqual(
        evolveJobStatus('running', finished(data)),
        { status: expected, outcome: true },
        JSON.stringify(data),
      );
    }
  });

  it('owns the terminal set: final statuses plus lost', () => {
    assert.deepEqual([...JOB_TERMINAL_STATUSES], ['succeeded', 'warning', 'failed', 'cancelled', 'lost']);
    assert.deepEqual(
      JOB_STATUSES.filter((s) => isTerminal(s)),
      [...JOB_TERMINAL_STATUSES],
    );
    assert.equal(isTerminal('exploded'), false);
    assert.equal(isFinalStatus('lost'), false);
    assert.equal(isFinalStatus('warning'), true);
    assert.deepEqual([0, 3, 1, 255, null].map(statusFromExitCode), [
      'succeeded',
      'warning',
      'failed',
      'failed',
      'failed',
    ]);
  });
});
