import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '@rf/events';
import type { AgentDispatch, AgentOrder } from '../core/agent-dispatch.port';
import { FleetState } from '../domain/fleet-state';
import { eventRecorder } from '../domain/recorded-events.test-harness';
import type { AgentUpdatesService } from './agent-updates.service';
import type { FleetStateService } from './fleet-state.service';
import { OrderRoutingService } from './order-routing.service';
import type { RepositoryCommandsService } from './repository.service';
import type { ScheduleCommandsService } from './schedules.service';

/** The router of one node holding the sockets of `held`, over a FleetState fed the given events. */
function node(held: readonly string[]) {
  const state = new FleetState();
  const sent: Array<{ hostId: string; type: string; job?: string }> = [];
  const closed: string[] = [];
  const sessions = {
    isOnline: (h: string) => held.includes(h),
    connectedHosts: () => held,
    send: (hostId: string, order: AgentOrder) => {
      if (!held.includes(hostId)) return false;
      const job = (order.payload as { job_id?: string }).job_id;
      sent.push({ hostId, type: order.type, ...(job !== undefined ? { job } : {}) });
      return true;
    },
    closeHost: async (hostId: string) => void (held.includes(hostId) && closed.push(hostId)),
  } as unknown as AgentDispatch;
  const pushes = (type: string) => (hostId: string) => void sent.push({ hostId, type });
  const router = new OrderRoutingService(
    { state } as FleetStateService,
    sessions,
    { pushSchedules: pushes('schedule.set') } as unknown as ScheduleCommandsService,
    { pushConfig: pushes('config.update') } as unknown as RepositoryCommandsService,
    {
      offer: (h: string) => sessions.send(h, { type: 'agent.update_available', payload: {} } as AgentOrder),
    } as unknown as AgentUpdatesService,
  );
  const apply = (events: RecordedEvent[]) => {
    for (const e of events) state.apply(e);
    router.route(events);
  };
  return { apply, sent, closed };
}

describe('OrderRoutingService: orders go out from the node holding the socket', () => {
  const at = '2026-12-01T10:00:00.000Z';
  const rec = eventRecorder();
  const connected = (host: string) =>
    rec(`host-${host}`, 'AgentConnected', {
      host_id: host,
      protocol_version: 1,
      agent_version: '1.0.0',
      restic_version: '0.17.0',
      hostname: host,
      os: 'linux',
      arch: 'amd64',
      connected_at: at,
    });
  const history = [
    connected('h1'),
    connected('h2'),
    rec('job-j1', 'JobRequested', { job_id: 'j1', host_id: 'h1', kind: 'check', args: {}, requested_at: at }),
    rec('job-j1', 'JobDispatched', { job_id: 'j1', host_id: 'h1', dispatched_at: at }),
    rec('job-j2', 'JobRequested', { job_id: 'j2', host_id: 'h1', kind: 'check', args: {}, requested_at: at }),
  ];

  it('sends command.run for a job dispatched to a host it holds, unless cancelled in the same batch', () => {
    const a = node(['h1']);
    const b = node(['h2']);
    a.apply(history);
    b.apply(history);
    assert.deepEqual(a.sent, [{ hostId: 'h1', type: 'command.run', job: 'j1' }]);
    assert.deepEqual(b.sent, []);
  });

  it('sends each order to the hosts it holds, whichever node wrote the event', () => {
    const a = node(['h1']);
    const b = node(['h2']);
    const orders = [
      ...history,
      rec('schedules-h1', 'SchedulesChanged', { host_id: 'h1', version: 1, schedules: [] }),
      rec('job-j1', 'JobCancelRequested', { job_id: 'j1', requested_at: at }),
      // A queued job is cancelled by the control plane alone: nothing to send.
      rec('job-j2', 'JobCancelRequested', { job_id: 'j2', requested_at: at }),
      rec('host-h2', 'AgentUpdateRequested', {
        host_id: 'h2',
        version: '2.0.0',
        sha256: 'ab'.repeat(32),
        requested_at: at,
      }),
      rec('host-h2', 'HostRevoked', { host_id: 'h2', revoked_at: at }),
    ];
    a.apply(orders);
    b.apply(orders);
    assert.deepEqual(a.sent, [
      { hostId: 'h1', type: 'command.cancel', job: 'j1' },
      { hostId: 'h1', type: 'schedule.set' },
    ]);
    assert.deepEqual(b.sent, [{ hostId: 'h2', type: 'agent.update_available' }]);
    assert.deepEqual([a.closed, b.closed], [[], ['h2']]);
  });

  it('sends config.update once per host per batch to the hosts a repository event concerns', () => {
    const a = node(['h1', 'h2']);
    a.apply(history);
    a.sent.length = 0;
    a.apply([
      rec('repository-r1', 'RepositoryRegistered', { repository_id: 'r1', name: 'shared', url: '/srv/r1' }),
      rec('repository-r1', 'RepositoryAttached', { repository_id: 'r1', host_id: 'h1' }),
      rec('repository-r1', 'RepositoryAttached', { repository_id: 'r1', host_id: 'h2' }),
    ]);
    assert.deepEqual(a.sent.map((s) => s.hostId).sort(), ['h1', 'h2']);
    a.sent.length = 0;
    a.apply([
      rec('repository-r1', 'RepositoryChanged', { repository_id: 'r1', name: 'shared', url: '/srv/moved' }),
    ]);
    assert.deepEqual(a.sent.map((s) => `${s.type}:${s.hostId}`).sort(), [
      'config.update:h1',
      'config.update:h2',
    ]);
    a.sent.length = 0;
    a.apply([
      rec('host-h1', 'RepositoryConfigured', {
        host_id: 'h1',
        url: '/srv/own',
        password: { v: 1, iv: 'aa', tag: 'bb', data: 'cc' },
      }),
    ]);
    assert.deepEqual(a.sent, [{ hostId: 'h1', type: 'config.update' }]);
  });
});
