import type { FleetPresence } from '../../services/fleet-presence.service';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DashboardQuery, HostView, RepositoryActivityQuery } from '@rf/projections';
import type { AgentDispatch } from '../../core/agent-dispatch.port';
import type { ReadModelsReader } from '../../repositories/read-models.reader';
import type { AgentDeliveryService } from '../../services/agent-delivery.service';
import { DASHBOARD_PAGE_SIZE, DashboardPresenter } from './dashboard.presenter';

// The dashboard with a large fleet: only one page of hosts gets rows (and their per-host
// queries); the totals still count every host.
function presenter(hostCount: number) {
  const perHostQueries = { schedules: 0, jobs: 0 };
  const hosts = Array.from(
    { length: hostCount },
    (_, i) =>
      ({
        id: `h${i}`,
        hostname: `srv-${String(i).padStart(5, '0')}`,
        status: 'online',
        os: 'linux',
        lastSeen: null,
        lastBackup: null,
        repoSizeBytes: null,
        repository: null,
        agentVersion: i % 3 === 0 ? '0.1.0' : '0.2.0',
      }) as unknown as HostView,
  );
  const read = { rows: 0 };
  const models = {
    hosts: {
      // Totals read two columns of every host; full rows only for the page shown.
      versions: () => hosts.map((h) => ({ id: h.id, agentVersion: h.agentVersion })),
      page: ({ offset, limit }: { offset: number; limit: number }) => {
        const page = hosts.slice(offset, offset + limit);
        read.rows += page.length;
        return page;
      },
    },
    schedules: { forHost: () => (perHostQueries.schedules++, { schedules: [] }) },
    jobs: { list: () => (perHostQueries.jobs++, []) },
    repositories: { ofHosts: () => [] },
    alerts: { openCount: () => 0, list: () => [] },
  };
  const reader = { fresh: async () => models } as unknown as ReadModelsReader;
  const dashboard = {
    summary: () => ({ hosts: {}, jobs: { queued: 0, running: 0, failedLast24h: 0 }, daily: [] }),
  } as unknown as DashboardQuery;
  const sessions = { lastSeen: () => null } as unknown as AgentDispatch;
  const presence = { isOnline: (id: string) => Number(id.slice(1)) % 2 === 0 } as unknown as FleetPresence;
  const delivery = {
    isOutdated: (v: string | null) => v === '0.1.0',
    current: { version: '0.2.0' },
  } as unknown as AgentDeliveryService;
  const activity = { latestSizes: () => new Map() } as unknown as RepositoryActivityQuery;
  return {
    p: new DashboardPresenter(reader, dashboard, sessions, delivery, activity, presence),
    perHostQueries,
    read,
  };
}

describe('dashboard presenter with a large fleet', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  it('builds rows for one page of hosts and counts all of them', async () => {
    const { p, perHostQueries, read } = presenter(250);
    const o = await p.overview(now, 2);
    assert.equal(o.hosts.length, DASHBOARD_PAGE_SIZE);
    assert.equal(o.hosts[0]!.name, 'srv-00100');
    assert.deepEqual(o.paging, { page: 2, pages: 3, first: 101, last: 200 });
    assert.equal(o.totals.hosts, 250);
    assert.equal(o.totals.online, 125);
    assert.equal(o.totals.outdatedAgents, 84);
    assert.deepEqual(perHostQueries, { schedules: DASHBOARD_PAGE_SIZE, jobs: DASHBOARD_PAGE_SIZE });
    assert.equal(read.rows, DASHBOARD_PAGE_SIZE);
  });

  it('clamps the page to the ones that exist', async () => {
    const { p } = presenter(250);
    assert.deepEqual((await p.overview(now, 99)).paging, { page: 3, pages: 3, first: 201, last: 250 });
    assert.deepEqual((await p.overview(now, 0)).paging, { page: 1, pages: 3, first: 1, last: 100 });
    const empty = presenter(0).p;
    assert.deepEqual((await empty.overview(now)).paging, { page: 1, pages: 1, first: 1, last: 0 });
  });
});
