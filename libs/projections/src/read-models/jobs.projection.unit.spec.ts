import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { legacyRepositoryId } from '@rf/events';
import { ProjectionHarness } from '../testing/projection.harness';
import {
  ALICE as alice,
  agentOf,
  at,
  backupRequested,
  jobEvent,
  jobLogEvent,
  logLine,
  planned,
  type PlannedEvent,
} from '../testing/fleet-events.fixture';
import { jobsProjection, type JobLogLineRow, type JobRow } from './jobs.projection';

// Pure evolve over an in-memory view: no database.
let h: ProjectionHarness;
const given = (...events: PlannedEvent[]): ProjectionHarness => h.given(...events);
const when = given;
const jobRow = (id = 'j1'): JobRow | undefined => h.row<JobRow>('jobs', { id });
const lines = (): Array<[number, string]> =>
  h.rows<JobLogLineRow>('job_log_lines').map((l) => [l.seq, l.payload]);

const agent = agentOf('h1');
const job = (type: string, data: Record<string, unknown>): PlannedEvent => jobEvent('j1', type, data);
const joblog = (type: string, data: Record<string, unknown>): PlannedEvent => jobLogEvent('j1', type, data);
const requested = backupRequested('j1', 1000);
const line = (n: number, payload?: string): PlannedEvent => logLine('j1', n, payload);
const progress = (percent: number, ts: number, jobId = 'j1'): PlannedEvent =>
  jobLogEvent(jobId, 'JobProgress', {
    percent_done: percent,
    files_done: 1,
    total_files: 4,
    bytes_done: 10,
    total_bytes: 40,
    eta_seconds: 9,
    throughput_bps: 5,
    ts: at(ts),
  });

beforeEach(() => {
  h = new ProjectionHarness(jobsProjection);
});

describe('jobs projection (pure evolve)', () => {
  it('follows a job from request to success with progress and log lines', () => {
    given(
      requested,
      job('JobDispatched', { host_id: 'h1', dispatched_at: at(2000) }),
      job('JobStarted', { kind: 'backup', started_at: at(3000) }),
      progress(0.25, 4000),
      line(0),
      line(1, 'error: permission denied'),
    );
    assert.equal(jobRow()?.status, 'running');
    assert.equal(jobRow()?.percent_done, 0.25);
    assert.equal(jobRow()?.progress_at, at(4000));
    when(
      job('JobFinished', {
        status: 'succeeded',
        exit_code: 0,
        finished_at: at(9000),
        stats: { files_new: 3 },
      }),
    );
    assert.deepEqual(
      { ...jobRow()! },
      {
        id: 'j1',
        log_key: 1,
        host_id: 'h1',
        kind: 'backup',
        args: '{"paths":["/srv"]}',
        status: 'succeeded',
        actor_kind: 'user',
        actor_id: 'u-alice',
        actor_name: 'alice',
        schedule_id: null,
        repository_id: legacyRepositoryId('h1'),
        requested_at: at(1000),
        dispatched_at: at(2000),
        accepted_at: null,
        started_at: at(3000),
        finished_at: at(9000),
        cancel_requested_at: null,
        exit_code: 0,
        stats: '{"files_new":3}',
        error: null,
        error_code: null,
        percent_done: 1,
        files_done: 1,
        total_files: 4,
        bytes_done: 10,
        total_bytes: 40,
        eta_seconds: 9,
        bytes_per_second: 5,
        progress_at: at(4000),
        log_line_count: 2,
        last_seq: 1,
        dropped_lines: 0,
        dropped_markers: 0,
        dropped_reported: 0,
      },
    );
    assert.deepEqual(lines(), [
      [0, 'line 0'],
      [1, 'error: permission denied'],
    ]);
  });

  it('keeps an accepted job dispatched until it starts, as the job lifecycle says', () => {
    given(
      requested,
      job('JobDispatched', { host_id: 'h1', dispatched_at: at(2000) }),
      job('JobAccepted', { accepted_at: at(2500) }),
    );
    assert.equal(jobRow()?.status, 'dispatched');
    assert.equal(jobRow()?.accepted_at, at(2500));
    when(progress(0.1, 3000));
    assert.equal(jobRow()?.status, 'running', 'progress proves the job runs');
  });

  it('never reopens a finished job: late progress, start, dispatch or outcomes change nothing', () => {
    given(
      requested,
      job('JobFinished', { status: 'failed', exit_code: 1, error: 'boom', finished_at: at(3000) }),
    );
    const before = { ...jobRow()! };
    when(
      job('JobStarted', { kind: 'backup', started_at: at(4000) }),
      progress(0.9, 5000),
      job('JobFinished', { status: 'succeeded', exit_code: 0, finished_at: at(6000) }),
      job('JobLost', { host_id: 'h1', reason: 'agent gone', lost_at: at(7000) }),
      job('JobRejected', { error: 'busy', rejected_at: at(8000) }),
    );
    // started_at is the one field a late JobStarted may still fill, nothing else moved.
    assert.deepEqual({ ...jobRow()!, started_at: null }, { ...before, started_at: null });
    assert.equal(jobRow()?.started_at, at(4000));
  });

  it('stores and counts a log line delivered twice (same seq, new event id) once', () => {
    given(requested, line(0), line(1), line(1), line(2), line(0));
    assert.equal(jobRow()?.log_line_count, 3);
    assert.equal(jobRow()?.last_seq, 2);
    assert.deepEqual(
      lines().map(([seq]) => seq),
      [0, 1, 2],
    );
  });

  it('stores and counts a line that arrives after a later one, and keeps the highest seq', () => {
    given(requested, line(0), line(5), line(3), line(3, 'a resend with other text'));
    assert.equal(jobRow()?.log_line_count, 3);
    assert.equal(jobRow()?.last_seq, 5);
    assert.deepEqual(lines(), [
      [0, 'line 0'],
      [3, 'line 3'],
      [5, 'line 5'],
    ]);
  });

  it('numbers jobs in order of first appearance and keys each job’s lines by its number', () => {
    given(
      logLine('j2', 0, 'first job seen, through a line'),
      backupRequested('j1', 1000),
      logLine('j1', 0, 'second job'),
      logLine('j2', 1, 'first job again'),
      job('JobDispatched', { host_id: 'h1', dispatched_at: at(2000) }),
    );
    assert.deepEqual(
      h.rows<JobRow>('jobs').map((j) => [j.id, j.log_key]),
      [
        ['j1', 2],
        ['j2', 1],
      ],
    );
    assert.deepEqual(
      h.rows<JobLogLineRow>('job_log_lines').map((l) => [l.log_key, l.seq, l.payload]),
      [
        [1, 0, 'first job seen, through a line'],
        [1, 1, 'first job again'],
        [2, 0, 'second job'],
      ],
    );
  });

  it('reads schema v1 events through the catalog upcasters (LogStreamLine `line`, JobFinished error_code)', () => {
    const v1 = (p: PlannedEvent): PlannedEvent => ({
      ...p,
      event: { ...p.event, metadata: { ...(p.event.metadata as object), schema_version: 1 } },
    });
    given(
      requested,
      v1(
        joblog('LogStreamLine', { seq: 0, ts: at(5000), stream: 'stdout', line: 'written by an old agent' }),
      ),
      v1(job('JobFinished', { status: 'failed', exit_code: 11, finished_at: at(6000) })),
    );
    assert.deepEqual(lines(), [[0, 'written by an old agent']]);
    assert.equal(jobRow()?.error_code, 'repo_locked');
  });

  it('marks lost and rejected jobs with a status, an error and an error code', () => {
    given(requested, job('JobLost', { host_id: 'h1', reason: 'no heartbeat for 90 s', lost_at: at(5000) }));
    assert.deepEqual(
      {
        status: jobRow()?.status,
        error: jobRow()?.error,
        code: jobRow()?.error_code,
        at: jobRow()?.finished_at,
      },
      { status: 'lost', error: 'no heartbeat for 90 s', code: 'lost', at: at(5000) },
    );
    given(
      planned('job-j2', 'JobRequested', {
        job_id: 'j2',
        host_id: 'h1',
        kind: 'check',
        args: {},
        requested_at: at(1),
      }),
      planned('job-j2', 'JobRejected', { job_id: 'j2', error: 'busy', rejected_at: at(2) }, agent),
    );
    const j2 = jobRow('j2');
    assert.deepEqual(
      { status: j2?.status, error: j2?.error, code: j2?.error_code, at: j2?.finished_at },
      { status: 'failed', error: 'busy', code: 'rejected', at: at(2) },
    );
  });

  it("lets the agent's late report replace lost, as the control plane does; a second report changes nothing", () => {
    given(
      requested,
      job('JobLost', { host_id: 'h1', reason: 'agent away longer than the grace', lost_at: at(5000) }),
      job('JobFinished', {
        status: 'failed',
        exit_code: -1,
        finished_at: at(6000),
        error: 'the agent restarted while this job ran',
        error_code: 'agent_restarted',
      }),
    );
    assert.equal(jobRow()?.status, 'failed');
    assert.equal(jobRow()?.error_code, 'agent_restarted');
    assert.equal(jobRow()?.finished_at, at(6000));
    when(job('JobFinished', { status: 'succeeded', exit_code: 0, finished_at: at(7000) }));
    assert.equal(jobRow()?.status, 'failed');
    assert.equal(jobRow()?.finished_at, at(6000));
  });

  it('maps exit code 3 to warning when a status is missing and counts dropped lines', () => {
    given(
      requested,
      joblog('LogLinesDropped', { from_seq: 3, to_seq: 7, count: 5 }),
      job('JobFinished', { exit_code: 3, finished_at: at(5000), dropped_log_lines: 2 }),
    );
    assert.equal(jobRow()?.status, 'warning');
    assert.equal(jobRow()?.percent_done, 1);
    assert.equal(jobRow()?.dropped_lines, 5);
  });

  it('counts dropped lines the same whether the last drop marker comes before or after JobFinished', () => {
    // The agent's JobFinished total includes every marker; its outbox may deliver the last one after it.
    const markers = [
      joblog('LogLinesDropped', { from_seq: 3, to_seq: 7, count: 5 }),
      joblog('LogLinesDropped', { from_seq: 20, to_seq: 59, count: 40 }),
    ];
    const finished = job('JobFinished', { exit_code: 3, finished_at: at(5000), dropped_log_lines: 45 });
    given(requested, markers[0]!, finished, markers[1]!);
    assert.equal(jobRow()?.dropped_lines, 45, 'marker after the outcome');
    h = new ProjectionHarness(jobsProjection);
    given(requested, markers[0]!, markers[1]!, finished);
    assert.equal(jobRow()?.dropped_lines, 45, 'markers before the outcome');
  });

  it('gives a job seen only through its lines or lifecycle a queued row; ignores progress and drops of unknown jobs', () => {
    given(
      planned('joblog-jx', 'LogStreamLine', {
        job_id: 'jx',
        seq: 4,
        ts: at(1),
        stream: 'stderr',
        payload: 'p',
      }),
      progress(0.5, 1, 'jy'),
      planned('joblog-jz', 'LogLinesDropped', { job_id: 'jz', from_seq: 0, to_seq: 1, count: 2 }),
      planned('job-jw', 'JobStarted', { job_id: 'jw', kind: 'check', started_at: at(2) }),
    );
    assert.deepEqual(
      h.rows<JobRow>('jobs').map((j) => [j.id, j.status, j.log_line_count, j.kind]),
      [
        ['jw', 'running', 0, 'check'],
        ['jx', 'queued', 1, null],
      ],
    );
    // Its JobRequested, arriving late, fills in the request without resetting anything.
    when(
      planned(
        'job-jw',
        'JobRequested',
        { job_id: 'jw', host_id: 'h9', kind: 'check', args: {}, requested_at: at(0) },
        alice,
      ),
    );
    assert.deepEqual(
      [jobRow('jw')?.status, jobRow('jw')?.host_id, jobRow('jw')?.requested_at],
      ['running', 'h9', at(0)],
    );
  });

  it('takes no interest in host, schedule, snapshot or identity events', () => {
    given(
      planned('host-h1', 'HostEnrolled', {
        host_id: 'h1',
        hostname: 'a',
        os: 'linux',
        arch: 'amd64',
        enrolled_at: at(0),
      }),
      planned('schedules-h1', 'ScheduleFired', {
        host_id: 'h1',
        schedule_id: 's',
        scheduled_at: at(1),
        job_id: 'j1',
      }),
      planned('user-u1', 'UserLoggedIn', { user_id: 'u1', at: at(2) }),
    );
    assert.deepEqual(h.rows('jobs'), []);
    assert.deepEqual(h.rows('job_log_lines'), []);
  });
});
