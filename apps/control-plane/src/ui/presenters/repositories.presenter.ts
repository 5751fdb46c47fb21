import { Inject, Injectable } from '@nestjs/common';
import { isJobKind, jobLockClaims, type RepositoryLock } from '@rf/events';
import {
  REPOSITORY_MAINTENANCE_KINDS,
  RepositoryActivityQuery,
  type RepositoryJobView,
  type RepositorySizePoint,
  type RepositoryView,
  type SnapshotView,
} from '@rf/projections';
import { AGENT_DISPATCH, type AgentDispatch } from '../../core/agent-dispatch.port';
import { AppError } from '../../core/app-error';
import type { ReadModels } from '../../repositories/read-models.port';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import {
  type CoordinatedJob,
  decideDispatch,
  describeWait,
  holdersCompatible,
  type HoldingJob,
} from '../../domain/repository-lock.coordinator';

/*
 * Pure rules behind the Repositories page and the host page's repository
 * list (docs/repositories.md, "In the UI"): no I/O, no clock; the presenters
 * pass what the read models and the gateway know.
 */

/** A snapshot at most this old counts as recent for the host page's 3-2-1 line (a daily backup plus slack). */
export const RECENT_SNAPSHOT_HOURS = 26;

/** One snapshot hostname of a repository's last listing. */
export interface RepositorySnapshotHostView {
  readonly hostname: string;
  readonly snapshotCount: number;
  /** The newest snapshot's time, ISO-8601; null when no snapshot has a readable time. */
  readonly latestAt: string | null;
  readonly reportedAt: string;
}

/** A repository's last listing (`SnapshotsQuery.forRepository`) by the hostname restic recorded, by name. */
export function snapshotHosts(snapshots: readonly SnapshotView[]): RepositorySnapshotHostView[] {
  const byHost = new Map<string, { count: number; latest: number | null; reportedAt: string }>();
  for (const s of snapshots) {
    const hostname = s.hostname ?? '';
    const t = s.time === null ? NaN : Date.parse(s.time);
    const seen = byHost.get(hostname) ?? { count: 0, latest: null, reportedAt: s.reportedAt };
    byHost.set(hostname, {
      count: seen.count + 1,
      latest: !Number.isNaN(t) && (seen.latest === null || t > seen.latest) ? t : seen.latest,
      reportedAt: seen.reportedAt,
    });
  }
  return [...byHost]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([hostname, h]) => ({
      hostname,
      snapshotCount: h.count,
      latestAt: h.latest === null ? null : new Date(h.latest).toISOString(),
      reportedAt: h.reportedAt,
    }));
}

export interface RecentCopy {
  readonly repositoryId: string;
  readonly name: string;
  /** The newest snapshot of this host in the repository's last listing; null when it lists none. */
  readonly latestAt: string | null;
  readonly recent: boolean;
}

export interface RecentCopies {
  readonly recent: number;
  readonly total: number;
  /** "2 of 3 repositories hold a snapshot younger than 26 h". */
  readonly line: string;
  /** ok: every repository, and at least two; warn: some; bad: none. */
  readonly tone: 'ok' | 'warn' | 'bad';
  readonly repositories: readonly RecentCopy[];
}

/**
 * How many of a host's repositories hold a recent snapshot of it (3-2-1 at a
 * glance). A repository's snapshots are matched to the host by the hostname
 * restic recorded, which is the host's own name unless a backup overrode it.
 */
export function recentCopies(
  hostname: string | null,
  repositories: readonly {
    readonly id: string;
    readonly name: string;
    readonly snapshotHosts: readonly RepositorySnapshotHostView[];
  }[],
  now: Date,
  maxAgeHours = RECENT_SNAPSHOT_HOURS,
): RecentCopies {
  const since = now.getTime() - maxAgeHours * 3_600_000;
  const copies = repositories.map((r): RecentCopy => {
    const latestAt =
      hostname === null ? null : (r.snapshotHosts.find((h) => h.hostname === hostname)?.latestAt ?? null);
    return {
      repositoryId: r.id,
      name: r.name,
      latestAt,
      recent: latestAt !== null && Date.parse(latestAt) >= since,
    };
  });
  const recent = copies.filter((c) => c.recent).length;
  const total = copies.length;
  const line =
    total === 0
      ? 'No repository is attached to this host'
      : `${recent} of ${total} ${total === 1 ? 'repository holds' : 'repositories hold'} a snapshot younger than ${maxAgeHours} h`;
  const tone = recent === 0 ? 'bad' : recent === total && total >= 2 ? 'ok' : 'warn';
  return { recent, total, line, tone, repositories: copies };
}

export interface LockHolder {
  readonly jobId: string;
  readonly kind: string;
  readonly lock: Exclude<RepositoryLock, 'none'>;
  readonly hostId: string;
  readonly hostName: string;
  readonly status: 'dispatched' | 'running';
}

export interface LockWaiter {
  readonly jobId: string;
  readonly kind: string;
  readonly lock: Exclude<RepositoryLock, 'none'>;
  readonly hostId: string;
  readonly hostName: string;
  /** "waiting for prune on repository offsite, running on host web-2", or that it is next. */
  readonly reason: string;
}

export interface RepositoryLockState {
  /** The strongest lock held now. */
  readonly held: 'free' | 'shared' | 'exclusive';
  readonly holders: readonly LockHolder[];
  readonly waiting: readonly LockWaiter[];
  /** One line: "free", "shared by 2 jobs", "exclusive: prune on web-2". */
  readonly summary: string;
  /** Holders whose locks restic would not grant together (one of them fails on the lock). */
  readonly conflict: boolean;
}

export const FREE_LOCK: RepositoryLockState = {
  held: 'free',
  holders: [],
  waiting: [],
  summary: 'free',
  conflict: false,
};

export interface LockNames {
  repository(id: string): string | undefined;
  host(id: string): string | undefined;
}

/**
 * Who holds each repository and what waits for it, from the unfinished jobs
 * of the whole fleet (oldest request first): holders are dispatched and
 * running jobs with their lock class (`jobLockClaims`); the reasons of the
 * waiting ones come from the dispatcher's own rule (`decideDispatch`), so the
 * page says what the control plane does.
 */
export function repositoryLocks(
  active: readonly RepositoryJobView[],
  isOnline: (hostId: string) => boolean,
  names: LockNames,
): Map<string, RepositoryLockState> {
  const holding: HoldingJob[] = [];
  const queued: CoordinatedJob[] = [];
  for (const job of active) {
    if (job.kind === null || !isJobKind(job.kind) || job.repositoryId === null || job.hostId === null)
      continue;
    const claims = jobLockClaims({ kind: job.kind, repository_id: job.repositoryId, args: job.args });
    if (claims.length === 0) continue;
    const coordinated: CoordinatedJob = { job_id: job.id, kind: job.kind, host_id: job.hostId, claims };
    if (job.status === 'queued') queued.push(coordinated);
    else if (job.status === 'dispatched' || job.status === 'running')
      holding.push({ ...coordinated, state: job.status });
  }
  const decision = decideDispatch({ holding, queued, isOnline });
  const hostName = (id: string): string => names.host(id) ?? id;
  const byRepo = new Map<string, { holders: LockHolder[]; waiting: LockWaiter[] }>();
  const entry = (id: string) => {
    let e = byRepo.get(id);
    if (!e) byRepo.set(id, (e = { holders: [], waiting: [] }));
    return e;
  };
  for (const job of holding)
    for (const claim of job.claims)
      entry(claim.repository_id).holders.push({
        jobId: job.job_id,
        kind: job.kind,
        lock: claim.lock,
        hostId: job.host_id,
        hostName: hostName(job.host_id),
        status: job.state,
      });
  for (const job of queued) {
    const reason = decision.waiting.get(job.job_id);
    for (const claim of job.claims)
      entry(claim.repository_id).waiting.push({
        jobId: job.job_id,
        kind: job.kind,
        lock: claim.lock,
        hostId: job.host_id,
        hostName: hostName(job.host_id),
        reason: reason ? describeWait(reason, names) : 'next to run: the repository is free for it',
      });
  }
  const out = new Map<string, RepositoryLockState>();
  for (const [id, e] of byRepo) {
    const exclusive = e.holders.find((h) => h.lock === 'exclusive');
    const held = exclusive ? 'exclusive' : e.holders.length ? 'shared' : 'free';
    const summary = exclusive
      ? `exclusive: ${exclusive.kind} on ${exclusive.hostName}`
      : e.holders.length
        ? `shared by ${e.holders.length} ${e.holders.length === 1 ? 'job' : 'jobs'}`
        : 'free';
    const conflict = !holdersCompatible(e.holders.map((h) => h.lock));
    out.set(id, { held, holders: e.holders, waiting: e.waiting, summary, conflict });
  }
  return out;
}

/** Size points for a sparkline (x in Unix seconds), without reports that carry no size. */
export function sizeSeries(points: readonly { reportedAt: string; totalSize: number | null }[]): {
  x: number[];
  y: number[];
} {
  const sized = points.filter((p) => p.totalSize !== null && !Number.isNaN(Date.parse(p.reportedAt)));
  return { x: sized.map((p) => Date.parse(p.reportedAt) / 1000), y: sized.map((p) => p.totalSize ?? 0) };
}

/** Growth between the first and the last size point, or null with fewer than two. */
export function sizeGrowth(series: { x: readonly number[]; y: readonly number[] }): number | null {
  if (series.y.length < 2) return null;
  return (series.y[series.y.length - 1] ?? 0) - (series.y[0] ?? 0);
}

export interface RepositoryHostEntry {
  readonly id: string;
  readonly name: string;
  readonly online: boolean;
}

export interface MaintenanceEntry {
  readonly kind: string;
  readonly job: RepositoryJobView | null;
}

export interface RepositoryRow {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly passwordSet: boolean;
  readonly hosts: readonly RepositoryHostEntry[];
  /** The latest reported size, or null when none was reported. */
  readonly sizeBytes: number | null;
  readonly sizeReportedAt: string | null;
  readonly growthBytes: number | null;
  readonly sizeSeries: { readonly x: number[]; readonly y: number[] };
  readonly maintenance: readonly MaintenanceEntry[];
  readonly lock: RepositoryLockState;
  readonly recentJobs: readonly RepositoryJobView[];
}

/** Snapshots the repository page lists (newest first), every host's: each opens in the browser. */
export const REPOSITORY_PAGE_SNAPSHOTS = 50;

export interface RepositoryDetail extends RepositoryRow {
  readonly snapshotHosts: readonly RepositorySnapshotHostView[];
  readonly snapshots: readonly SnapshotView[];
  readonly snapshotCount: number;
  readonly lastCheck: { readonly at: string | null; readonly status: string | null } | null;
}

/** The kinds the repository page's "Run a job" form offers (restore needs a host's snapshot and target: host page). */
export const RUN_KINDS = [
  'backup',
  'check',
  'prune',
  'forget',
  'copy',
  'snapshots',
  'stats',
  'unlock',
  'init',
] as const;

/** What a repository page's forms need beside the repository itself. */
export interface RepositoryForms {
  readonly repo: RepositoryDetail;
  /** Enrolled, not revoked hosts (the attach choice). */
  readonly enrolled: readonly { readonly id: string; readonly name: string }[];
  /** The other repositories (a copy's destination). */
  readonly otherRepositories: readonly { readonly id: string; readonly name: string }[];
  readonly runKinds: readonly string[];
}

/** The Repositories page and a repository's own page, from the read models and the gateway's presence. */
@Injectable()
export class RepositoriesPresenter {
  constructor(
    private readonly reader: ReadModelsReader,
    private readonly activity: RepositoryActivityQuery,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
  ) {}

  async list(): Promise<RepositoryRow[]> {
    const models = await this.reader.fresh();
    const locks = this.locks(models);
    const sizes = this.activity.latestSizes();
    return models.repositories.list().map((r) => this.row(models, r, locks, sizes.get(r.id) ?? null, 60, 5));
  }

  async detail(id: string): Promise<RepositoryDetail> {
    const models = await this.reader.fresh();
    const repo = models.repositories.get(id);
    if (!repo) throw new AppError('not_found', `repository ${id} does not exist`, { field: 'id' });
    const sizes = this.activity.latestSizes();
    const latest = sizes.get(id) ?? null;
    const listed = models.snapshots.forRepository(id);
    return {
      ...this.row(models, repo, this.locks(models), latest, 500, 25),
      snapshotHosts: snapshotHosts(listed),
      snapshots: listed.slice(0, REPOSITORY_PAGE_SNAPSHOTS),
      snapshotCount: listed.length,
      lastCheck:
        latest && (latest.lastCheckAt !== null || latest.lastCheckStatus !== null)
          ? { at: latest.lastCheckAt, status: latest.lastCheckStatus }
          : null,
    };
  }

  async forms(id: string): Promise<RepositoryForms> {
    const repo = await this.detail(id);
    const models = await this.reader.fresh();
    return {
      repo,
      enrolled: models.hosts
        .list({ includeRevoked: false })
        .map((h) => ({ id: h.id, name: h.hostname ?? h.id }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      otherRepositories: models.repositories
        .list()
        .filter((r) => r.id !== id)
        .map((r) => ({ id: r.id, name: r.name })),
      runKinds: RUN_KINDS,
    };
  }

  /** The repositories a host is attached to, with what the host page shows of each. */
  async ofHost(hostId: string, hostname: string | null, now: Date): Promise<HostRepositories> {
    const models = await this.reader.fresh();
    const locks = this.locks(models);
    const sizes = this.activity.latestSizes();
    // The host's own repository (the one PUT /api/hosts/{id}/repository sets) first, then by name.
    const repos = models.repositories
      .ofHost(hostId)
      .sort((a, b) => Number(b.legacyHostId === hostId) - Number(a.legacyHostId === hostId));
    const withSnapshots = repos.map((r) => ({
      id: r.id,
      name: r.name,
      snapshotHosts: snapshotHosts(models.snapshots.forRepository(r.id)),
    }));
    const first = repos[0];
    return {
      copies: recentCopies(hostname, withSnapshots, now),
      sizeChart: first
        ? { repositoryName: first.name, series: sizeSeries(this.activity.sizeHistory(first.id)) }
        : null,
      repositories: repos.map((r) => ({
        id: r.id,
        name: r.name,
        url: r.url,
        own: r.legacyHostId === hostId,
        passwordSet: r.passwordSet,
        sizeBytes: sizes.get(r.id)?.totalSize ?? null,
        otherHosts: r.hosts.filter((h) => h.id !== hostId).map((h) => h.hostname ?? h.id),
        lock: locks.get(r.id) ?? FREE_LOCK,
      })),
    };
  }

  private row(
    models: ReadModels,
    repo: RepositoryView,
    locks: Map<string, RepositoryLockState>,
    latest: RepositorySizePoint | null,
    points: number,
    jobs: number,
  ): RepositoryRow {
    const series = sizeSeries(this.activity.sizeHistory(repo.id, { limit: points }));
    const last = this.activity.lastMaintenance(repo.id);
    return {
      id: repo.id,
      name: repo.name,
      url: repo.url,
      passwordSet: repo.passwordSet,
      hosts: repo.hosts.map((h) => ({
        id: h.id,
        name: h.hostname ?? models.hosts.get(h.id)?.hostname ?? h.id,
        online: this.sessions.isOnline(h.id),
      })),
      sizeBytes: latest?.totalSize ?? null,
      sizeReportedAt: latest?.reportedAt ?? null,
      growthBytes: sizeGrowth(series),
      sizeSeries: series,
      maintenance: REPOSITORY_MAINTENANCE_KINDS.map((kind) => ({ kind, job: last.get(kind) ?? null })),
      lock: locks.get(repo.id) ?? FREE_LOCK,
      recentJobs: this.activity.jobs(repo.id, { limit: jobs }),
    };
  }

  private locks(models: ReadModels): Map<string, RepositoryLockState> {
    return repositoryLocks(this.activity.activeJobs(), (id) => this.sessions.isOnline(id), {
      repository: (id) => models.repositories.get(id)?.name,
      host: (id) => models.hosts.get(id)?.hostname ?? undefined,
    });
  }
}

export interface HostRepositoryEntry {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  /** The host's own repository (set on the host page; docs/repositories.md, "Logs written before"). */
  readonly own: boolean;
  readonly passwordSet: boolean;
  readonly sizeBytes: number | null;
  /** The other hosts backing up into it (a shared repository). */
  readonly otherHosts: readonly string[];
  readonly lock: RepositoryLockState;
}

export interface HostRepositories {
  readonly copies: RecentCopies;
  /** The size history of the host's first repository (its own one when it has one). */
  readonly sizeChart: {
    readonly repositoryName: string;
    readonly series: { x: number[]; y: number[] };
  } | null;
  readonly repositories: readonly HostRepositoryEntry[];
}
