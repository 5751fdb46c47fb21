import type Database from 'better-sqlite3';
import { comparePositions, type Position } from '@rf/events';
import { openReadModelsDatabase } from '../engine/read-models.database';
import { StateSnapshotRepository } from './state-snapshot.repository';

/** How a state is written to and read from its snapshot. */
export interface StateSnapshotCodec<S> {
  readonly name: string;
  /**
   * Bump whenever the fold or the encoded shape changes: a snapshot of another
   * version is discarded and the state is rebuilt from the log.
   */
  readonly version: number;
  /** A JSON-serialisable picture of the state (bigints as strings). */
  encode(state: S): unknown;
  /** The state back from `encode`'s output; throws when the body is not one. */
  decode(body: unknown): S;
}

export type SnapshotRestoreOutcome =
  | { readonly kind: 'restored'; readonly position: Position | null }
  | { readonly kind: 'missing' | 'version_changed' | 'unreadable' | 'ahead_of_log'; readonly reason: string };

export interface StateSnapshotsOptions {
  /** Save after this many applied events. Default 10,000. */
  readonly everyEvents?: number;
  /** Save after this long with anything applied. Default 60 s. */
  readonly everyMs?: number;
  readonly now?: () => number;
  /** Told when a save failed; the next cadence tries again. */
  readonly onSaveError?: (err: unknown) => void;
}

/**
 * Snapshots of one in-memory state in `readmodels.db`: restores it at start
 * (only a snapshot of the current version, readable, and not past the log's
 * head), and saves it on a count/time cadence and on shutdown, so a start
 * reads only the events after the snapshot (docs/architecture.md, "State that starts fast").
 */
export class StateSnapshots<S> {
  private readonly repository: StateSnapshotRepository;
  private readonly everyEvents: number;
  private readonly everyMs: number;
  private readonly now: () => number;
  private pendingEvents = 0;
  private lastSavedAt: number;
  private savedPosition: Position | null | undefined;

  constructor(
    db: Database.Database,
    private readonly codec: StateSnapshotCodec<S>,
    private readonly options: StateSnapshotsOptions = {},
  ) {
    this.repository = new StateSnapshotRepository(db);
    this.everyEvents = options.everyEvents ?? 10_000;
    this.everyMs = options.everyMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.lastSavedAt = this.now();
  }

  /** Opens `readmodels.db` (created if missing) for one state's snapshots; `close()` closes it. */
  static open<S>(
    file: string,
    codec: StateSnapshotCodec<S>,
    options: StateSnapshotsOptions = {},
  ): StateSnapshots<S> {
    return new StateSnapshots(openReadModelsDatabase(file), codec, options);
  }

  /**
   * The stored state, or why there is none to use. `head` is the log's head
   * now: a snapshot past it was built from another log and is discarded.
   */
  restore(head: Position | null): { readonly outcome: SnapshotRestoreOutcome; readonly state?: S } {
    const name = this.codec.name;
    let stored;
    try {
      stored = this.repository.load(name);
    } catch (err) {
      return {
        outcome: { kind: 'unreadable', reason: `${name} snapshot could not be read: ${messageOf(err)}` },
      };
    }
    if (!stored) return { outcome: { kind: 'missing', reason: `no ${name} snapshot yet` } };
    if (stored.version !== this.codec.version) {
      return {
        outcome: {
          kind: 'version_changed',
          reason: `${name} snapshot has version ${stored.version}, this build writes ${this.codec.version}`,
        },
      };
    }
    if (stored.position !== null && (head === null || comparePositions(stored.position, head) > 0)) {
      return {
        outcome: {
          kind: 'ahead_of_log',
          reason: `${name} snapshot is at position ${stored.position.commit}, past the log's head (${head?.commit ?? 'empty'}): it belongs to another log`,
        },
      };
    }
    try {
      const state = this.codec.decode(JSON.parse(stored.body));
      this.savedPosition = stored.position;
      return { outcome: { kind: 'restored', position: stored.position }, state };
    } catch (err) {
      return { outcome: { kind: 'unreadable', reason: `${name} snapshot is unreadable: ${messageOf(err)}` } };
    }
  }

  /** After a batch was applied: saves when the count or time cadence is due. */
  applied(state: S, position: Position | null, events: number): void {
    this.pendingEvents += events;
    if (this.pendingEvents >= this.everyEvents || this.now() - this.lastSavedAt >= this.everyMs) {
      this.save(state, position);
    }
  }

  /** Saves now (e.g. on clean shutdown) unless the stored snapshot is already at `position`. */
  save(state: S, position: Position | null): void {
    this.pendingEvents = 0;
    this.lastSavedAt = this.now();
    if (this.savedPosition !== undefined && samePosition(this.savedPosition, position)) return;
    try {
      this.repository.save({
        name: this.codec.name,
        version: this.codec.version,
        position,
        body: JSON.stringify(this.codec.encode(state)),
        writtenAt: new Date(this.now()).toISOString(),
      });
      this.savedPosition = position;
    } catch (err) {
      this.options.onSaveError?.(err);
    }
  }

  /** Drops the stored snapshot (tests, and a state that must be rebuilt). */
  discard(): void {
    this.repository.delete(this.codec.name);
    this.savedPosition = undefined;
  }

  close(): void {
    const db = this.repository.database;
    if (db.open) db.close();
  }
}

const samePosition = (a: Position | null, b: Position | null): boolean =>
  a === null || b === null ? a === b : comparePositions(a, b) === 0;

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
