import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobKind, RecordedEvent } from '@rf/events';
import type { FleetPresence } from './fleet-presence.service';
import type { CommandContext } from '../core/command-context';
import { FleetState } from '../domain/fleet-state';
import { eventRecorder } from '../domain/recorded-events.test-harness';
import { jobIdForRepositoryFire } from '../domain/repository-maintenance.rules';
import type { FleetStateService } from './fleet-state.service';
import type { JobCommandsService, RequestJobOptions } from './jobs.service';
import { RepositorySchedulerService } from './repository-scheduler.service';

/*
 * One class: the scheduler's choice per tick, over a real FleetState folded
 * from events. The job service and the sockets are stand-ins that record what
 * was asked of them.
 */

const at = '2026-12-05T03:00:00.000Z';
const recorded = (streamId: string, type: string, data: Record<string, unknown>): RecordedEvent =>
  record(streamId, type, data, at);
const record = eventRecorder();

interface Requested {
  hostId: string;
  kind: JobKind;
  args: unknown;
  options: RequestJobOptions;
}

function fleetWith(hosts: string[]): {
  state: FleetState;
  online: Set<string>;
  scheduler: RepositorySchedulerService;
  requested: Requested[];
} {
  const state = new FleetState();
  for (const h of hosts) {
    state.apply(
      recorded(`host-${h}`, 'HostEnrolled', {
        host_id: h,
        hostname: h,
        os: 'linux',
        arch: 'amd64',
        agent_secret_hash: 'x',
        enrolment_token_id: 't',
        enrolled_at: at,
      }),
    );
    state.apply(
      recorded(`host-${h}`, 'AgentConnected', {
        host_id: h,
        protocol_version: 1,
        agent_version: '0.1.0',
        restic_version: '0.19.1',
        hostname: h,
        os: 'linux',
        arch: 'amd64',
        connected_at: at,
        capabilities: ['repositories'],
      }),
    );
  }
  state.apply(
    recorded('repository-r1', 'RepositoryRegistered', {
      repository_id: 'r1',
      name: 'shared',
      url: '/srv/r1',
    }),
  );
  for (const h of hosts)
    state.apply(recorded('repository-r1', 'RepositoryAttached', { repository_id: 'r1', host_id: h }));
  state.apply(
    recorded('repository-r1', 'RepositorySchedulesChanged', {
      repository_id: 'r1',
      version: 1,
      schedules: [{ id: 'f', kind: 'forget', cron: '0 3 * * *', enabled: true, retention: { keep_last: 3 } }],
    }),
  );
  const online = new Set(hosts);
  const requested: Requested[] = [];
  const jobs = {
    requestJob: (
      hostId: string,
      kind: JobKind,
      args: unknown,
      _ctx: CommandContext,
      options: RequestJobOptions,
    ) => {
      requested.push({ hostId, kind, args, options });
      state.apply(
        recorded(`job-${options.jobId}`, 'JobRequested', {
          job_id: options.jobId,
          host_id: hostId,
          kind,
          args,
          schedule_id: options.scheduleId,
          repository_id: options.repositoryId,
          requested_at: at,
        }),
      );
      return Promise.resolve(options.jobId!);
    },
  } as unknown as JobCommandsService;
  const fleet = { state, onApplied: () => () => undefined } as unknown as FleetStateService;
  const presence = { isOnline: (h: string) => online.has(h) } as unknown as FleetPresence;
  return { state, online, scheduler: new RepositorySchedulerService(fleet, jobs, presence), requested };
}

const finish = (state: FleetState, jobId: string): void => {
  state.apply(recorded(`job-${jobId}`, 'JobDispatched', { job_id: jobId, host_id: 'x', dispatched_at: at }));
  state.apply(
    recorded(`job-${jobId}`, 'JobFinished', {
      job_id: jobId,
      status: 'succeeded',
      exit_code: 0,
      finished_at: at,
    }),
  );
};

describe('RepositorySchedulerService', () => {
  it('requests one job per tick, with the tick’s id, forget grouped by host and paths', async () => {
    const { scheduler, requested } = fleetWith(['a', 'b']);
    const tick = new Date('2026-12-06T03:00:00.000Z');
    const id = await scheduler.fire('r1', 'f', tick);
    assert.equal(id, jobIdForRepositoryFire('r1', 'f', tick));
    assert.equal(await scheduler.fire('r1', 'f', tick), id, 'the same tick again');
    assert.equal(requested.length, 1);
    assert.deepEqual(requested[0]!.options, { scheduleId: 'f', jobId: id, repositoryId: 'r1' });
    assert.equal(requested[0]!.kind, 'forget');
    assert.deepEqual(JSON.parse(JSON.stringify(requested[0]!.args)), {
      policy: { keep_last: 3 },
      group_by: ['host', 'paths'],
    });
  });

  it('spreads ticks over the hosts and skips a host that is offline', async () => {
    const { state, online, scheduler, requested } = fleetWith(['a', 'b', 'c']);
    const day = (d: number) => new Date(Date.UTC(2026, 11, d, 3));
    for (const d of [6, 7, 8]) finish(state, (await scheduler.fire('r1', 'f', day(d)))!);
    assert.deepEqual(
      requested.map((r) => r.hostId),
      ['a', 'b', 'c'],
    );
    online.delete('a');
    finish(state, (await scheduler.fire('r1', 'f', day(9)))!);
    assert.equal(requested[3]!.hostId, 'b', 'a is away: the least recently used online host');
  });

  it('skips a tick while the previous job of the schedule still waits in the queue', async () => {
    const { scheduler, requested } = fleetWith(['a']);
    await scheduler.fire('r1', 'f', new Date('2026-12-06T03:00:00.000Z'));
    assert.equal(await scheduler.fire('r1', 'f', new Date('2026-12-07T03:00:00.000Z')), undefined);
    assert.equal(requested.length, 1);
  });

  it('requests nothing for a schedule that is gone or disabled', async () => {
    const { scheduler, requested } = fleetWith(['a']);
    assert.equal(await scheduler.fire('r1', 'nope', new Date(at)), undefined);
    assert.equal(await scheduler.fire('r2', 'f', new Date(at)), undefined);
    assert.equal(requested.length, 0);
  });
});
