import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { repositoryStream, type DumpArchive } from '@rf/events';
import type { RepositoryView, SnapshotView } from '@rf/projections';
import { LineSplitter, parseDiffLine, parseFindOutput, parseLsNodeLine, type DiffStats } from '@rf/restic';
import { AGENT_QUERIES, type AgentQueries, type AgentQueryRequest } from '../core/agent-queries.port';
import { AppError } from '../core/app-error';
import { BrowseSettings } from '../core/browse.settings';
import type { CommandContext } from '../core/command-context';
import { contentDisposition, contentTypeFor } from '../domain/download-headers';
import { chooseQueryHost } from '../domain/query-host';
import { baseName, normalizeSnapshotPath, parentOf, permissionBits } from '../domain/snapshot-path';
import { ReadModelsReader } from '../repositories/read-models.reader';
import { TreeCacheRepository, type TreeEntry } from '../repositories/tree-cache.repository';
import { FleetEventWriter } from './fleet-event.writer';

export interface TreeResponse {
  readonly path: string;
  readonly snapshot_id: string;
  readonly entries: TreeEntry[];
  readonly next_cursor?: string;
  /** True when the listing came from the cache (no agent was asked). */
  readonly cached: boolean;
}

export interface FindResponse {
  readonly pattern: string;
  readonly matches: Array<{
    snapshot_id: string;
    short_id: string;
    time: string | null;
    hostname: string | null;
    path: string;
    type: string;
    size: number;
    mtime: string;
  }>;
}

export interface DiffChange {
  readonly path: string;
  readonly type: 'dir' | 'file';
  /** restic's modifier: M content, T type, U metadata only, ? bitrot. */
  readonly modifier?: string;
}

export interface DiffResponse {
  readonly from: string;
  readonly to: string;
  readonly added: DiffChange[];
  readonly removed: DiffChange[];
  readonly changed: DiffChange[];
  readonly stats: {
    changed_files: number;
    added: DiffStats['added'];
    removed: DiffStats['removed'];
  };
}

/** A download ready to send: the first bytes are already there (or the answer is empty). */
export interface Download {
  readonly stream: Readable;
  readonly headers: Record<string, string>;
}

export const TREE_PAGE_DEFAULT = 500;
export const TREE_PAGE_MAX = 5000;

interface Target {
  readonly repository: RepositoryView;
  readonly snapshot: SnapshotView;
  readonly hostId: string;
}

/**
 * Snapshot browse, search, diff and download through an agent (docs/browse.md).
 * Folder listings are cached by (repository, snapshot, folder); every download
 * is a `SnapshotDownloaded` event on the repository's stream.
 */
@Injectable()
export class SnapshotBrowseService {
  constructor(
    private readonly reader: ReadModelsReader,
    @Inject(AGENT_QUERIES) private readonly queries: AgentQueries,
    private readonly cache: TreeCacheRepository,
    private readonly settings: BrowseSettings,
    private readonly writer: FleetEventWriter,
  ) {}

  async tree(
    repositoryId: string,
    snapshotRef: string,
    rawPath: string | undefined,
    cursor: string | undefined,
    rawLimit: string | undefined,
    signal?: AbortSignal,
  ): Promise<TreeResponse> {
    const dir = this.path(rawPath);
    const after = decodeCursor(cursor);
    const limit = pageSize(rawLimit);
    const repository = await this.repository(repositoryId);
    const snapshot = await this.snapshot(repository, snapshotRef, 'snapshot');
    let cached = true;
    let page = this.cache.page(repository.id, snapshot.id, dir, after, limit);
    if (!page) {
      cached = false;
      await this.list(this.target(repository, snapshot), dir, signal);
      page = this.cache.page(repository.id, snapshot.id, dir, after, limit);
      if (!page) throw new AppError('unavailable', 'the listing could not be cached; try again');
    }
    return {
      path: dir,
      snapshot_id: snapshot.id,
      entries: page.entries,
      ...(page.next !== null ? { next_cursor: encodeCursor(page.next) } : {}),
      cached,
    };
  }

  async find(
    repositoryId: string,
    pattern: string | undefined,
    host: string | undefined,
    signal?: AbortSignal,
  ): Promise<FindResponse> {
    if (!pattern || pattern.length > 4096 || /[\0\r\n]/.test(pattern) || pattern.startsWith('-'))
      throw new AppError(
        'invalid_input',
        'pattern is required: a restic find pattern not starting with "-"',
        {
          field: 'pattern',
        },
      );
    const repository = await this.repository(repositoryId);
    const hostname = host ? (repository.hosts.find((h) => h.id === host)?.hostname ?? host) : undefined;
    if (hostname !== undefined && (hostname.length > 253 || /[\0\r\n]/.test(hostname)))
      throw new AppError('invalid_input', 'host must be a host id or host name', { field: 'host' });
    const hostId = this.pickHost(repository, null);
    const text = await collectText(
      this.queries.open(
        hostId,
        this.request(repository, hostId, { kind: 'find', pattern, ...(hostname ? { host: hostname } : {}) }),
      ),
      signal,
    );
    const models = await this.reader.fresh();
    const known = new Map<string, SnapshotView>();
    const matches = parseFindOutput(text).map((m) => {
      if (!known.has(m.snapshotId)) {
        const s = models.snapshots.byId(m.snapshotId)[0];
        if (s) known.set(m.snapshotId, s);
      }
      const s = known.get(m.snapshotId);
      return {
        snapshot_id: m.snapshotId,
        short_id: m.snapshotId.slice(0, 8),
        time: s?.time ?? null,
        hostname: s?.hostname ?? null,
        path: m.path,
        type: m.type,
        size: m.size,
        mtime: m.mtime,
      };
    });
    return { pattern, matches };
  }

  async diff(
    repositoryId: string,
    fromRef: string | undefined,
    toRef: string | undefined,
    signal?: AbortSignal,
  ): Promise<DiffResponse> {
    const repository = await this.repository(repositoryId);
    const from = await this.snapshot(repository, fromRef, 'from');
    const to = await this.snapshot(repository, toRef, 'to');
    const hostId = this.pickHost(repository, to.hostname);
    const stream = this.queries.open(
      hostId,
      this.request(repository, hostId, { kind: 'diff', from: from.id, to: to.id }),
    );
    const out: DiffResponse = {
      from: from.id,
      to: to.id,
      added: [],
      removed: [],
      changed: [],
      stats: {
        changed_files: 0,
        added: { files: 0, dirs: 0, others: 0, bytes: 0 },
        removed: { files: 0, dirs: 0, others: 0, bytes: 0 },
      },
    };
    await eachLine(stream, signal, (line) => {
      const d = parseDiffLine(line);
      if (d.type === 'statistics') {
        out.stats.changed_files = d.stats.changedFiles;
        out.stats.added = d.stats.added;
        out.stats.removed = d.stats.removed;
      } else if (d.type === 'change') {
        const isDir = d.path.endsWith('/') && d.path.length > 1;
        const change = { path: isDir ? d.path.slice(0, -1) : d.path, type: isDir ? 'dir' : 'file' } as const;
        if (d.modifier === '+') out.added.push(change);
        else if (d.modifier === '-') out.removed.push(change);
        else out.changed.push({ ...change, modifier: d.modifier });
      }
    });
    return out;
  }

  async download(
    repositoryId: string,
    snapshotRef: string,
    rawPath: string | undefined,
    rawFormat: string | undefined,
    ctx: CommandContext,
  ): Promise<Download> {
    const path = this.path(rawPath);
    if (rawFormat !== undefined && rawFormat !== 'tar' && rawFormat !== 'zip')
      throw new AppError('invalid_input', 'format must be tar or zip (for a folder)', { field: 'format' });
    const repository = await this.repository(repositoryId);
    const snapshot = await this.snapshot(repository, snapshotRef, 'snapshot');
    const target = this.target(repository, snapshot);
    const entry = path === '/' ? ({ type: 'dir', size: 0 } as const) : await this.entry(target, path);
    const isDir = entry.type === 'dir';
    const archive: DumpArchive | undefined = isDir ? (rawFormat === 'zip' ? 'zip' : 'tar') : undefined;
    const name = (baseName(path) || `snapshot-${snapshot.id.slice(0, 8)}`) + (archive ? `.${archive}` : '');
    const size = entry.type === 'file' ? entry.size : undefined;
    if (size !== undefined && size > this.settings.maxDownloadBytes)
      throw new AppError(
        'too_large',
        `the file is ${size} bytes; downloads are limited to ${this.settings.maxDownloadBytes}`,
      );
    await this.writer.append(
      repositoryStream(repository.id),
      [
        {
          type: 'SnapshotDownloaded',
          data: {
            repository_id: repository.id,
            snapshot_id: snapshot.id,
            path,
            format: archive ?? 'file',
            host_id: target.hostId,
            ...(size !== undefined ? { size } : {}),
          },
        },
      ],
      ctx,
      { waitForState: false },
    );
    const stream = this.queries.open(
      target.hostId,
      this.request(repository, target.hostId, {
        kind: 'dump',
        snapshot: snapshot.id,
        path,
        ...(archive ? { archive } : {}),
        maxBytes: this.settings.maxDownloadBytes,
        // The Content-Length below: a stream that ends at another count is aborted, not ended short.
        ...(size !== undefined ? { expectedBytes: size } : {}),
      }),
    );
    await firstBytes(stream);
    return {
      stream,
      headers: {
        'Content-Type':
          archive === 'zip'
            ? 'application/zip'
            : archive === 'tar'
              ? 'application/x-tar'
              : contentTypeFor(name),
        'Content-Disposition': contentDisposition(name),
        'X-Content-Type-Options': 'nosniff',
        'Cache-Control': 'private, no-store',
        ...(size !== undefined ? { 'Content-Length': String(size) } : {}),
      },
    };
  }

  // -------------------------------------------------------------------------

  /** Lists `dir` through an agent into the cache (restic prints the folder itself, then its children). */
  private async list(target: Target, dir: string, signal?: AbortSignal): Promise<void> {
    const stream = this.queries.open(
      target.hostId,
      this.request(target.repository, target.hostId, { kind: 'ls', snapshot: target.snapshot.id, path: dir }),
    );
    const writer = this.cache.writer(target.repository.id, target.snapshot.id, dir);
    let self: string | undefined = dir === '/' ? 'dir' : undefined;
    try {
      await eachLine(stream, signal, (line) => {
        const node = parseLsNodeLine(line);
        if (!node) return;
        if (node.path === dir) self = node.type;
        else if (parentOf(node.path) === dir)
          writer.add({
            name: node.name,
            type: node.type,
            size: node.size,
            mtime: node.mtime,
            mode: permissionBits(node.mode),
          });
      });
    } catch (err) {
      writer.abort();
      throw err;
    }
    if (self === undefined) {
      writer.abort();
      throw new AppError('not_found', `snapshot ${target.snapshot.id.slice(0, 8)} has no ${dir}`, {
        field: 'path',
      });
    }
    if (self !== 'dir') {
      writer.abort();
      throw new AppError('invalid_input', `${dir} is a ${self}, not a folder; download it instead`, {
        field: 'path',
      });
    }
    writer.commit();
  }

  /** The entry at `path` (from the cached listing of its folder, listing that folder first if needed). */
  private async entry(target: Target, path: string): Promise<TreeEntry> {
    const dir = parentOf(path);
    const name = baseName(path);
    const { repository, snapshot } = target;
    let found = this.cache.entry(repository.id, snapshot.id, dir, name);
    if (found === undefined) {
      await this.list(target, dir);
      found = this.cache.entry(repository.id, snapshot.id, dir, name);
    }
    if (!found)
      throw new AppError('not_found', `snapshot ${snapshot.id.slice(0, 8)} has no ${path}`, {
        field: 'path',
      });
    return found;
  }

  /**
   * A host's own (legacy) repository is its default one, which it knows without
   * an id (docs/repositories.md); any other is named.
   */
  private request(
    repository: RepositoryView,
    hostId: string,
    args: Omit<AgentQueryRequest, 'repositoryId' | 'maxBytes'> & { maxBytes?: number },
  ): AgentQueryRequest {
    return {
      ...(repository.legacyHostId === hostId ? {} : { repositoryId: repository.id }),
      maxBytes: this.settings.maxAnswerBytes,
      ...args,
    };
  }

  private path(raw: string | undefined): string {
    const p = normalizeSnapshotPath(raw);
    if (!p.ok) throw new AppError('invalid_input', `path ${p.why}`, { field: 'path' });
    return p.path;
  }

  private async repository(id: string): Promise<RepositoryView> {
    const models = await this.reader.fresh();
    const repository = models.repositories.get(id);
    if (!repository) throw new AppError('not_found', `repository ${id} does not exist`, { field: 'id' });
    return repository;
  }

  /** A snapshot one of the repository's hosts reported, by full id or unique prefix. */
  private async snapshot(
    repository: RepositoryView,
    ref: string | undefined,
    field: string,
  ): Promise<SnapshotView> {
    if (!ref || !/^[0-9a-f]{4,64}$/.test(ref))
      throw new AppError('invalid_input', `${field} must be a hex snapshot id (4-64 characters)`, { field });
    const models = await this.reader.fresh();
    const attached = new Set(repository.hosts.map((h) => h.id));
    const rows = models.snapshots.byId(ref).filter((s) => attached.has(s.hostId));
    const ids = new Set(rows.map((s) => s.id));
    if (ids.size === 0)
      throw new AppError('not_found', `no snapshot ${ref} is known in repository ${repository.id}`, {
        field,
      });
    if (ids.size > 1)
      throw new AppError('invalid_input', `${field} ${ref} is ambiguous; give more digits`, { field });
    return rows[0]!;
  }

  private target(repository: RepositoryView, snapshot: SnapshotView): Target {
    return { repository, snapshot, hostId: this.pickHost(repository, snapshot.hostname) };
  }

  private pickHost(repository: RepositoryView, snapshotHostname: string | null): string {
    const hostId = chooseQueryHost(repository.hosts, (id) => this.queries.canQuery(id), snapshotHostname);
    if (hostId === null)
      throw new AppError(
        'unavailable',
        `no host attached to repository ${repository.id} is online with an agent that answers queries`,
      );
    return hostId;
  }
}

const encodeCursor = (idx: number): string => Buffer.from(`i:${idx}`).toString('base64url');

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0;
  const m = /^i:(\d{1,12})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new AppError('invalid_input', 'cursor is not one this API gave out', { field: 'cursor' });
  return Number(m[1]);
}

function pageSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return TREE_PAGE_DEFAULT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > TREE_PAGE_MAX)
    throw new AppError('invalid_input', `limit must be a whole number from 1 to ${TREE_PAGE_MAX}`, {
      field: 'limit',
    });
  return n;
}

/** Reads a query's answer line by line; destroying the stream (cancelling the query) if `signal` aborts. */
async function eachLine(
  stream: Readable,
  signal: AbortSignal | undefined,
  onLine: (line: string) => void,
): Promise<void> {
  const splitter = new LineSplitter(onLine);
  const abort = (): void => {
    stream.destroy(new AppError('unavailable', 'the client went away'));
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    for await (const chunk of stream) splitter.push(chunk as Buffer);
    splitter.end();
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** The whole answer as text (find prints one JSON document); bounded by the query's max_bytes. */
async function collectText(stream: Readable, signal: AbortSignal | undefined): Promise<string> {
  const parts: Buffer[] = [];
  const abort = (): void => {
    stream.destroy(new AppError('unavailable', 'the client went away'));
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    for await (const chunk of stream) parts.push(chunk as Buffer);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Resolves once the stream has data or ended; rejects if it fails first (so the error can still be a JSON answer). */
function firstBytes(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = (): void => done();
    const onEnd = (): void => done();
    stream.once('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', done);
  });
}
