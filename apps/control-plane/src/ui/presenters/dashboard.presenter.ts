import { Inject, Injectable } from '@nestjs/common';
import { DashboardQuery, RepositoryActivityQuery, type DailyOutcomes } from '@rf/projections';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { FleetPresence } from '../../services/fleet-presence.service';
import { AGENT_DISPATCH, type AgentDispatch } from '../../core/agent-dispatch.port';
import { backupFreshness, nextScheduled, type Freshness } from '../ui-format';
import { AgentDeliveryService } from '../../services/agent-delivery.service';
import { alertItem, type AlertItem } from './alerts.presenter';

export interface FleetHostRow {
  readonly id: string;
  readonly name: string;
  readonly online: boolean;
  readonly status: string;
  readonly os: string | null;
  readonly lastSeen: string | null;
  readonly lastBackupAt: string | null;
  readonly freshness: Freshness;
  readonly lastJob: { readonly id: string; readonly kind: string | null; readonly status: string } | null;
  /** Every repository the host is attached to, its own one first; size null until one is reported. */
  readonly repositories: readonly FleetHostRepository[];
  readonly nextRun: { readonly at: string; readonly kind: string } | null;
  readonly agentVersion: string | null;
  /** Runs an agent older than the one this control plane serves. */
  readonly agentOutdated: boolean;
}

/** Hosts with a row on one dashboard page. */
export const DASHBOARD_PAGE_SIZE = 100;

export interface FleetHostRepository {
  readonly id: string;
  readonly name: string;
  /** Without credentials. */
  readonly url: string;
  readonly sizeBytes: number | null;
}

export interface FleetOverview {
  readonly now: Date;
  /** The rows of this page (hostname order). */
  readonly hosts: FleetHostRow[];
  /** Which hosts `hosts` holds: numbers `first`..`last` of `totals.hosts`, page `page` of `pages`. */
  readonly paging: { page: number; pages: number; first: number; last: number };
  readonly totals: {
    online: number;
    hosts: number;
    running: number;
    queued: number;
    failed24h: number;
    outdatedAgents: number;
    openAlerts: number;
  };
  /** The most pressing open alerts (errors first). */
  readonly alerts: AlertItem[];
  /** The agent version this control plane serves (null when it has none to serve). */
  readonly servedAgent: string | null;
  readonly daily: DailyOutcomes[];
}

/** How many open alerts the dashboard lists (the Alerts page has the rest). */
const DASHBOARD_ALERTS = 5;

/** The fleet dashboard: read models plus the gateway's live presence. */
@Injectable()
export class DashboardPresenter {
  constructor(
    private readonly reader: ReadModelsReader,
    private readonly dashboard: DashboardQuery,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly delivery: AgentDeliveryService,
    private readonly activity: RepositoryActivityQuery,
    private readonly presence: FleetPresence,
  ) {}

  /**
   * `page` (from 1) picks which DASHBOARD_PAGE_SIZE hosts get a table row: a row costs
   * queries and a cron evaluation, so the page costs the same with 10 hosts or 10,000.
   * The totals count every host from what is already in memory.
   */
  async overview(now: Date, page = 1): Promise<FleetOverview> {
    const models = await this.reader.fresh();
    // Totals from two columns of every host; rows, repositories and queries only for this page.
    const all = models.hosts.versions({ includeRevoked: false });
    const pages = Math.max(1, Math.ceil(all.length / DASHBOARD_PAGE_SIZE));
    const current = Math.min(Math.max(1, Math.floor(page)), pages);
    const first = (current - 1) * DASHBOARD_PAGE_SIZE;
    const shown = models.hosts.page({ includeRevoked: false, offset: first, limit: DASHBOARD_PAGE_SIZE });
    const byHost = new Map<string, FleetHostRepository[]>();
    const onPage = new Set(shown.map((h) => h.id));
    const repositories = models.repositories.ofHosts([...onPage]);
    const sizes = this.activity.latestSizes(repositories.map((r) => r.id));
    for (const r of repositories)
      for (const h of r.hosts) {
        if (!onPage.has(h.id)) continue;
        const entry = { id: r.id, name: r.name, url: r.url, sizeBytes: sizes.get(r.id)?.totalSize ?? null };
        const list = byHost.get(h.id) ?? [];
        // The host's own repository (set on its page) first, the others by name.
        if (r.legacyHostId === h.id) list.unshift(entry);
        else list.push(entry);
        byHost.set(h.id, list);
      }
    const hosts = shown.map((h): FleetHostRow => {
      const schedules = models.schedules.forHost(h.id).schedules;
      const last = models.jobs.list({ hostId: h.id, limit: 1 })[0];
      const next = nextScheduled(schedules, now);
      const online = this.presence.isOnline(h.id);
      const liveSeen = this.sessions.lastSeen(h.id);
      return {
        id: h.id,
        name: h.hostname ?? h.id,
        online,
        status: online ? 'online' : h.status === 'online' ? 'offline' : h.status,
        os: h.os,
        lastSeen: liveSeen ? liveSeen.toISOString() : h.lastSeen,
        lastBackupAt: h.lastBackup?.at ?? null,
        freshness: backupFreshness(h.lastBackup?.at ?? null, schedules, now),
        lastJob: last ? { id: last.id, kind: last.kind, status: last.status } : null,
        repositories: byHost.get(h.id) ?? [],
        nextRun: next ? { at: next.at.toISOString(), kind: next.kind } : null,
        agentVersion: h.agentVersion,
        agentOutdated: this.delivery.isOutdated(h.agentVersion),
      };
    });
    const summary = this.dashboard.summary(now, 30);
    return {
      now,
      hosts,
      paging: { page: current, pages, first: first + 1, last: first + hosts.length },
      totals: {
        online: all.filter((h) => this.presence.isOnline(h.id)).length,
        hosts: all.length,
        running: summary.jobs.running,
        queued: summary.jobs.queued,
        failed24h: summary.jobs.failedLast24h,
        outdatedAgents: all.filter((h) => this.delivery.isOutdated(h.agentVersion)).length,
        openAlerts: models.alerts.openCount(),
      },
      alerts: models.alerts.list({ state: 'open', limit: DASHBOARD_ALERTS }).map(alertItem),
      servedAgent: this.delivery.current?.version ?? null,
      daily: summary.daily,
    };
  }
}

/** uPlot's column layout for the outcomes chart (x in Unix seconds). */
export function outcomesChartData(daily: readonly DailyOutcomes[]): Record<string, number[]> {
  return {
    x: daily.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000),
    succeeded: daily.map((d) => d.succeeded),
    warning: daily.map((d) => d.warning),
    failed: daily.map((d) => d.failed),
    cancelled: daily.map((d) => d.cancelled),
    lost: daily.map((d) => d.lost),
  };
}
