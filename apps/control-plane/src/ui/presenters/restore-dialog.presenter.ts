import { Injectable } from '@nestjs/common';
import { isTerminal } from '@rf/events';
import type { JobView, RepositoryView, SnapshotView } from '@rf/projections';
import { formatVersion, parseRestoreItemLine, parseVersionOutput, versionAtLeast } from '@rf/restic';
import { AppError } from '../../core/app-error';
import { ReadModelsReader } from '../../repositories/read-models.reader';

/** A host a restore can go to: attached to the snapshot's repository and online. */
export interface RestoreTarget {
  readonly id: string;
  readonly name: string;
  readonly resticVersion: string | null;
  /** restic ≥ 0.17: `--dry-run` and `--overwrite` work there. */
  readonly dryRun: boolean;
  /** The host that made the snapshot. */
  readonly origin: boolean;
}

/** What the operator typed (kept across a failed submit). */
export interface RestoreValues {
  readonly target_host_id: string;
  readonly target: string;
  readonly include: string;
  readonly exclude: string;
  readonly overwrite: string;
}

export interface RestoreDialogModel {
  readonly repository: { readonly id: string; readonly name: string };
  readonly snapshot: {
    readonly id: string;
    readonly shortId: string;
    readonly time: string | null;
    readonly hostname: string | null;
    readonly paths: readonly string[];
  };
  /** The folder the dialog was opened from (its restore is limited to it), or null for the whole snapshot. */
  readonly folder: string | null;
  readonly targets: readonly RestoreTarget[];
  /** Set when the host that made the snapshot is attached but not online. */
  readonly originOffline: string | null;
  readonly values: RestoreValues;
}

export interface RestorePreviewItem {
  readonly path: string;
  readonly size: number;
  readonly action: string;
}

export interface RestorePreviewModel {
  readonly jobId: string;
  readonly status: string;
  readonly done: boolean;
  readonly error: string | null;
  readonly tooOld: boolean;
  /** Files restic would restore (the first `PREVIEW_ROWS`, by path). */
  readonly items: readonly RestorePreviewItem[];
  readonly fileCount: number;
  /** Folders it would create or update (restic lists them as items too). */
  readonly folderCount: number;
  readonly totalBytes: number;
  readonly more: number;
}

/** Log lines read for a preview, and rows shown of it. */
const PREVIEW_LOG_LINES = 20_000;
export const PREVIEW_ROWS = 200;

/** restic 0.17 brought restore's `--dry-run` and `--overwrite` (docs/browse.md). */
export function supportsDryRun(resticVersion: string | null): boolean {
  return versionAtLeast(parseVersionOutput(`restic ${resticVersion ?? ''}`), 0, 17);
}

/** The preview of a dry-run restore from its job's log (`verbose_status` lines). */
export function previewOf(
  job: Pick<JobView, 'id' | 'status' | 'error' | 'errorCode'>,
  payloads: readonly string[],
): RestorePreviewModel {
  const all = payloads.map(parseRestoreItemLine).filter((x) => x !== undefined);
  // restic lists folders as items too; a path that is another item's parent is a folder.
  const parents = new Set(all.map((i) => i.item.slice(0, Math.max(1, i.item.lastIndexOf('/')))));
  const files = all
    .filter((i) => !parents.has(i.item))
    .map((i) => ({ path: i.item, size: i.size, action: i.action }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const done = isTerminal(job.status);
  return {
    jobId: job.id,
    status: job.status,
    done,
    error: job.error,
    tooOld: job.errorCode === 'restic_too_old',
    items: files.slice(0, PREVIEW_ROWS),
    fileCount: files.length,
    folderCount: all.length - files.length,
    totalBytes: files.reduce((sum, i) => sum + i.size, 0),
    more: Math.max(0, files.length - PREVIEW_ROWS),
  };
}

/**
 * The restore dialog (docs/browse.md, "Restore"): which hosts can restore a
 * snapshot of a repository, which of them can do a dry run, and the preview
 * of a dry run from its job's log.
 */
@Injectable()
export class RestoreDialogPresenter {
  constructor(private readonly reader: ReadModelsReader) {}

  async load(
    repositoryId: string,
    snapshotRef: string,
    folder: string | null,
    values: Partial<RestoreValues> = {},
  ): Promise<RestoreDialogModel> {
    const models = await this.reader.fresh();
    const repository = models.repositories.get(repositoryId);
    if (!repository) throw new AppError('not_found', `repository ${repositoryId} does not exist`);
    const listed = models.snapshots.byId(snapshotRef);
    const snapshot = snapshotOf(repository, listed, snapshotRef);
    const hosts = repository.hosts.map((h) => {
      const view = models.hosts.get(h.id);
      return { id: h.id, hostname: view?.hostname ?? h.hostname, view };
    });
    const origin = originOf(hosts, snapshot.hostname, new Set(listed.map((s) => s.hostId)));
    const names = hosts.map((h) => h.hostname ?? h.id);
    const nameOf = (h: (typeof hosts)[number]): string => {
      const name = h.hostname ?? h.id;
      // Two hosts with one hostname (clones, containers) are told apart by id.
      return names.filter((n) => n === name).length > 1 ? `${name} [${h.id.slice(0, 8)}]` : name;
    };
    const targets: RestoreTarget[] = [];
    let originOffline: string | null = null;
    for (const h of hosts) {
      if (h.view?.status !== 'online') {
        if (h.id === origin) originOffline = nameOf(h);
        continue;
      }
      targets.push({
        id: h.id,
        name: nameOf(h),
        resticVersion: h.view.resticVersion,
        dryRun: supportsDryRun(h.view.resticVersion),
        origin: h.id === origin,
      });
    }
    targets.sort((a, b) => Number(b.origin) - Number(a.origin) || a.name.localeCompare(b.name));
    return {
      repository: { id: repository.id, name: repository.name },
      snapshot: {
        id: snapshot.id,
        shortId: snapshot.shortId || snapshot.id.slice(0, 8),
        time: snapshot.time,
        hostname: snapshot.hostname,
        paths: snapshot.paths,
      },
      folder,
      targets,
      originOffline,
      values: {
        target_host_id: values.target_host_id || (targets[0]?.id ?? ''),
        target: values.target ?? '',
        include: values.include ?? folder ?? '',
        exclude: values.exclude ?? '',
        overwrite: values.overwrite ?? '',
      },
    };
  }

  /** The snapshots the form may choose from: the repository's, newest first. */
  async snapshotsOf(repositoryId: string): Promise<SnapshotView[]> {
    return (await this.reader.fresh()).snapshots.forRepository(repositoryId);
  }

  /** The dry run's state and what it would restore; not_found for a job that is not a restore. */
  async preview(jobId: string): Promise<RestorePreviewModel> {
    const models = await this.reader.fresh();
    const job = models.jobs.get(jobId);
    if (!job || job.kind !== 'restore') throw new AppError('not_found', `no restore job ${jobId}`);
    const lines = models.jobLog.lines(jobId, { afterSeq: -1, limit: PREVIEW_LOG_LINES });
    return previewOf(
      job,
      lines.filter((l) => l.stream === 'stdout').map((l) => l.payload),
    );
  }
}

/**
 * The attached host that took the snapshot: the one with its hostname; when
 * several share that name, the one that listed the snapshot, then the first.
 */
function originOf(
  hosts: ReadonlyArray<{ readonly id: string; readonly hostname: string | null }>,
  hostname: string | null,
  listers: ReadonlySet<string>,
): string | null {
  const named = hosts.filter((h) => hostname !== null && h.hostname === hostname);
  return (named.find((h) => listers.has(h.id)) ?? named[0])?.id ?? null;
}

/** The snapshot a repository's hosts reported under that id or unique prefix. */
function snapshotOf(
  repository: RepositoryView,
  rows: ReadonlyArray<SnapshotView & { readonly hostId: string }>,
  ref: string,
): SnapshotView {
  const attached = new Set(repository.hosts.map((h) => h.id));
  const mine = rows.filter((s) => attached.has(s.hostId));
  const ids = new Set(mine.map((s) => s.id));
  if (ids.size === 0) throw new AppError('not_found', `no snapshot ${ref} is known in ${repository.name}`);
  if (ids.size > 1) throw new AppError('invalid_input', `snapshot ${ref} is ambiguous; give more digits`);
  return mine[0]!;
}

/** "0.14.0" → "restic 0.14.0"; the words the dialog uses for a host's restic. */
export function resticLabel(version: string | null): string {
  const v = parseVersionOutput(`restic ${version ?? ''}`);
  return v ? `restic ${formatVersion(v)}` : 'restic (version unknown)';
}
