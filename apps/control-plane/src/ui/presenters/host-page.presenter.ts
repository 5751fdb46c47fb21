import { Inject, Injectable } from '@nestjs/common';
import {
  RepoStatsQuery,
  type HostSchedulesView,
  type HostView,
  type JobView,
  type RepoStatsView,
  type SnapshotView,
} from '@rf/projections';
import { isTerminal, JOB_KINDS } from '@rf/events';
import { AppError } from '../../core/app-error';
import type { ReadModels } from '../../repositories/read-models.port';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { FleetPresence } from '../../services/fleet-presence.service';
import { AGENT_DISPATCH, type AgentDispatch } from '../../core/agent-dispatch.port';
import { backupFreshness, cronText, nextRun, type Freshness } from '../ui-format';
import { AgentDeliveryService } from '../../services/agent-delivery.service';
import { type HostRepositories, RepositoriesPresenter } from './repositories.presenter';
import { alertItem, type AlertItem } from './alerts.presenter';

export interface ScheduleEditorRow {
  readonly index: number;
  readonly isNew: boolean;
  readonly id: string;
  readonly kind: string;
  /** The repository the schedule's jobs work on; empty for the host's only one. */
  readonly repositoryId: string;
  readonly cron: string;
  readonly cronText: string | null;
  readonly nextRun: string | null;
  readonly enabled: boolean;
  readonly paths: string;
  readonly excludes: string;
  readonly tags: string;
  readonly retention: Readonly<Record<string, string>>;
  readonly preHook: string;
  readonly postHook: string;
  readonly hookTimeout: string;
}

export interface HostPage {
  readonly now: Date;
  readonly host: HostView;
  readonly name: string;
  readonly online: boolean;
  /** The control-plane node holding the agent's socket; null while offline. */
  readonly nodeId: string | null;
  readonly status: string;
  readonly lastSeen: string | null;
  readonly freshness: Freshness;
  readonly schedules: HostSchedulesView;
  readonly rows: ScheduleEditorRow[];
  readonly jobs: JobView[];
  readonly activeJob: JobView | null;
  readonly snapshots: SnapshotView[];
  readonly stats: RepoStatsView | null;
  /** Prefill for "Back up now": the first backup schedule's paths. */
  readonly backupDefaults: { paths: string; excludes: string; tags: string };
  readonly kinds: readonly string[];
  /** The agent version this control plane serves, and whether this host runs an older one. */
  readonly agent: { readonly served: string | null; readonly outdated: boolean };
  readonly hooks: HooksPolicy;
  /** Every repository the host is attached to, and how many hold a recent snapshot of it (3-2-1). */
  readonly repositories: HostRepositories;
  /** The host's open alerts (acknowledged ones too). */
  readonly alerts: AlertItem[];
}

/** Whether a host runs schedule hooks, in words for the host page and the schedule form. */
export interface HooksPolicy {
  readonly allowed: boolean | null;
  /** One or two words for the facts list. */
  readonly label: string;
  /** What that means for a schedule with a hook, and how to change it. */
  readonly text: string;
}

export function hooksPolicy(allowed: boolean | null): HooksPolicy {
  if (allowed === true)
    return {
      allowed,
      label: 'allowed',
      text: "This host runs schedule hooks (allow_hooks: true in its agent.yaml). They run as the agent's user, usually root.",
    };
  if (allowed === false)
    return {
      allowed,
      label: 'not allowed',
      text: "This host does not run hooks: a scheduled job with a pre or post hook fails without running anything. To allow them, set allow_hooks: true in the agent's agent.yaml on the host and restart the agent.",
    };
  return {
    allowed,
    label: 'not reported',
    text: "This host's agent does not say whether it allows hooks: it predates that setting and runs every hook it is given. Upgrade the agent; hooks then need allow_hooks: true on the host.",
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const strList = (v: unknown, sep: string): string =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').join(sep) : '';

/** A schedule as the editor shows it; unknown shapes become blank fields rather than errors. */
export function editorRow(raw: unknown, index: number, now: Date, isNew = false): ScheduleEditorRow {
  const s = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const cron = str(s['cron']);
  const retentionRaw = (s['retention'] && typeof s['retention'] === 'object' ? s['retention'] : {}) as Record<
    string,
    unknown
  >;
  const retention: Record<string, string> = {};
  for (const [k, v] of Object.entries(retentionRaw))
    retention[k] = Array.isArray(v) ? strList(v, ', ') : str(v);
  const next = cron && !isNew ? nextRun(cron, now) : null;
  return {
    index,
    isNew,
    id: str(s['id']),
    kind: str(s['kind']) || 'backup',
    repositoryId: str(s['repository_id']),
    cron,
    cronText: cron ? cronText(cron) : null,
    nextRun: next ? next.toISOString() : null,
    enabled: isNew && !('enabled' in s) ? true : s['enabled'] === true,
    paths: strList(s['paths'], '\n'),
    excludes: strList(s['excludes'], '\n'),
    tags: strList(s['tags'], ', '),
    retention,
    preHook: str(s['pre_hook']),
    postHook: str(s['post_hook']),
    hookTimeout: str(s['hook_timeout_s']),
  };
}

/** Everything the host page shows, from the read models and the gateway's presence. */
@Injectable()
export class HostPagePresenter {
  constructor(
    private readonly reader: ReadModelsReader,
    private readonly repoStats: RepoStatsQuery,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly delivery: AgentDeliveryService,
    private readonly repositories: RepositoriesPresenter,
    private readonly presence: FleetPresence,
  ) {}

  async load(hostId: string, now: Date): Promise<HostPage> {
    const models = await this.reader.fresh();
    const host = hostOrNotFound(models, hostId);
    const schedules = models.schedules.forHost(hostId);
    const jobs = models.jobs.list({ hostId, limit: 25 });
    const nodeId = this.presence.nodeOf(hostId);
    const online = nodeId !== null;
    const seen = this.sessions.lastSeen(hostId);
    const firstBackup = schedules.schedules.find(
      (s) => !!s && typeof s === 'object' && (s as Record<string, unknown>)['kind'] === 'backup',
    ) as Record<string, unknown> | undefined;
    const repositories = await this.repositories.ofHost(hostId, host.hostname, now);
    const rows = schedules.schedules.map((s, i) => editorRow(s, i, now));
    rows.push(editorRow({}, rows.length, now, true));
    return {
      now,
      host,
      name: host.hostname ?? host.id,
      online,
      nodeId,
      status: host.status === 'revoked' ? 'revoked' : online ? 'online' : 'offline',
      lastSeen: seen ? seen.toISOString() : host.lastSeen,
      freshness: backupFreshness(host.lastBackup?.at ?? null, schedules.schedules, now),
      schedules,
      rows,
      jobs,
      activeJob: jobs.find((j) => !isTerminal(j.status)) ?? null,
      snapshots: models.snapshots.forHost(hostId),
      stats: this.repoStats.latest(hostId),
      backupDefaults: {
        paths: strList(firstBackup?.['paths'], '\n'),
        excludes: strList(firstBackup?.['excludes'], '\n'),
        tags: strList(firstBackup?.['tags'], ', '),
      },
      kinds: JOB_KINDS,
      hooks: hooksPolicy(host.hooksAllowed),
      repositories,
      alerts: models.alerts.list({ state: 'open', hostId, limit: 50 }).map(alertItem),
      agent: {
        served: this.delivery.current?.version ?? null,
        outdated: this.delivery.isOutdated(host.agentVersion),
      },
    };
  }

  /** What the restore form needs, without the rest of the page (polled while a page waits for a first snapshot). */
  async restoreChoices(hostId: string): Promise<Pick<HostPage, 'host' | 'snapshots'>> {
    const models = await this.reader.fresh();
    return { host: hostOrNotFound(models, hostId), snapshots: models.snapshots.forHost(hostId) };
  }
}

function hostOrNotFound(models: ReadModels, hostId: string): HostView {
  const host = models.hosts.get(hostId);
  if (!host) throw new AppError('not_found', `host ${hostId} does not exist`, { field: 'id' });
  return host;
}
