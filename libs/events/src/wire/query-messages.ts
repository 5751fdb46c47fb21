import { IsOptional } from 'class-validator';
import { isPattern, isRepoPath, isSnapshotRef } from '../catalog/job-args';
import {
  type FieldIssue,
  IsCode,
  IsCount,
  IsId,
  IsOneOf,
  IsPositiveInt,
  IsText,
  IsUuidStr,
  isUuid,
  joinPath,
  registerPostCheck,
  Rule,
} from '../catalog/validation';

/*
 * Queries through an agent (docs/browse.md): short-lived, read-only restic runs
 * whose output streams back to the control plane. Not jobs: nothing here is
 * durable, nothing becomes an event. The bytes travel in binary frames (see
 * encodeQueryChunk); the JSON messages below start, pace, stop and end a query.
 */

export const QUERY_KINDS = ['ls', 'find', 'diff', 'dump'] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];
export const DUMP_ARCHIVES = ['tar', 'zip'] as const;
export type DumpArchive = (typeof DUMP_ARCHIVES)[number];

const SNAPSHOT_TEXT = 'must be a hex snapshot id (prefix of 4-64)';
const isSnapshotId = (v: unknown): v is string => isSnapshotRef(v) && v !== 'latest';
/** An absolute path inside a snapshot: starts with `/`, no NUL, no `.`/`..` segments. */
export const isSnapshotPath = (v: unknown): v is string =>
  typeof v === 'string' &&
  v.startsWith('/') &&
  v.length <= 4096 &&
  !v.includes('\0') &&
  !v.split('/').some((seg) => seg === '.' || seg === '..');

/** Control plane → agent: run one query and stream its output. */
export class QueryStartPayload {
  @IsUuidStr() readonly query_id!: string;
  @IsOneOf(QUERY_KINDS) readonly kind!: QueryKind;
  /** The repository to query; the host's default one when absent. */
  @IsOptional() @IsId() readonly repository_id?: string;
  /** ls, dump: the snapshot. */
  @IsOptional() @Rule('isSnapshotId', isSnapshotId, SNAPSHOT_TEXT) readonly snapshot?: string;
  /** ls: the folder to list; dump: the file or folder to fetch. */
  @IsOptional()
  @Rule('isSnapshotPath', isSnapshotPath, 'must be an absolute path without NUL or . / .. segments')
  readonly path?: string;
  /** find: the pattern (restic find syntax). */
  @IsOptional()
  @Rule('isFindPattern', (v) => isPattern(v) && isRepoPath(v), 'must be a pattern not starting with "-"')
  readonly pattern?: string;
  /** find: only snapshots of this host name. */
  @IsOptional() @IsText(253) readonly host?: string;
  /** diff: the two snapshots. */
  @IsOptional() @Rule('isSnapshotId', isSnapshotId, SNAPSHOT_TEXT) readonly from?: string;
  @IsOptional() @Rule('isSnapshotId', isSnapshotId, SNAPSHOT_TEXT) readonly to?: string;
  /** dump of a folder: the archive format (zip needs restic ≥ 0.12). */
  @IsOptional() @IsOneOf(DUMP_ARCHIVES) readonly archive?: DumpArchive;
  /** The agent stops restic and answers `too_large` past this many bytes of output. */
  @IsPositiveInt() readonly max_bytes!: number;
  /** Bytes the agent may send before it waits for `query.credit`. */
  @IsPositiveInt() readonly credit!: number;
}

const REQUIRED: Record<QueryKind, readonly (keyof QueryStartPayload)[]> = {
  ls: ['snapshot', 'path'],
  find: ['pattern'],
  diff: ['from', 'to'],
  dump: ['snapshot', 'path'],
};
const ALLOWED: Record<QueryKind, readonly (keyof QueryStartPayload)[]> = {
  ls: ['snapshot', 'path'],
  find: ['pattern', 'host'],
  diff: ['from', 'to'],
  dump: ['snapshot', 'path', 'archive'],
};
const ARG_FIELDS = ['snapshot', 'path', 'pattern', 'host', 'from', 'to', 'archive'] as const;

function queryArgIssues(p: QueryStartPayload, prefix: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const f of REQUIRED[p.kind] ?? [])
    if (p[f] === undefined || p[f] === null) {
      const field = joinPath(prefix, f);
      issues.push({ field, message: `${field} is required for a ${p.kind} query` });
    }
  for (const f of ARG_FIELDS)
    if (p[f] !== undefined && p[f] !== null && !(ALLOWED[p.kind] ?? []).includes(f)) {
      const field = joinPath(prefix, f);
      issues.push({ field, message: `${field} is not an argument of a ${p.kind} query` });
    }
  return issues;
}
registerPostCheck(QueryStartPayload, (p, prefix) => queryArgIssues(p, prefix));

/** Control plane → agent: the consumer took `bytes` more; the agent may send that many more. */
export class QueryCreditPayload {
  @IsUuidStr() readonly query_id!: string;
  @IsPositiveInt() readonly bytes!: number;
}

/** Control plane → agent: nobody wants the rest (the browser went away); stop restic (SIGINT). */
export class QueryCancelPayload {
  @IsUuidStr() readonly query_id!: string;
}

/** Agent → control plane: restic finished and every byte was sent. */
export class QueryEndPayload {
  @IsUuidStr() readonly query_id!: string;
  @IsCount() readonly bytes!: number;
  /** restic's exit code (0, or 3 for a partial answer). */
  @IsCount() readonly exit_code!: number;
  @IsText(64) readonly restic_version!: string;
}

export const QUERY_ERROR_CODES = [
  'not_configured',
  'restic_unavailable',
  'unsupported',
  'busy',
  'too_large',
  'not_found',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export type QueryErrorCode = (typeof QUERY_ERROR_CODES)[number];

/** Agent → control plane: the query failed; bytes already sent are incomplete. */
export class QueryErrorPayload {
  @IsUuidStr() readonly query_id!: string;
  @IsOneOf(QUERY_ERROR_CODES) readonly code!: QueryErrorCode;
  @IsText(4096) readonly message!: string;
  @IsOptional() @IsCode() readonly restic_code?: string;
}

/** First byte of a query chunk frame. A JSON envelope (text) can never start with it. */
export const QUERY_CHUNK_MAGIC = 0x01;
const HEADER_BYTES = 17;

/** A binary frame carrying the next bytes of a query's output: magic, the query id's 16 bytes, the data. */
export function encodeQueryChunk(queryId: string, data: Buffer): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = QUERY_CHUNK_MAGIC;
  Buffer.from(queryId.replace(/-/g, ''), 'hex').copy(header, 1);
  return Buffer.concat([header, data], HEADER_BYTES + data.length);
}

/** The query id and data of a chunk frame, or null when `frame` is not one. The data shares `frame`'s memory. */
export function decodeQueryChunk(frame: Buffer): { queryId: string; data: Buffer } | null {
  if (frame.length < HEADER_BYTES || frame[0] !== QUERY_CHUNK_MAGIC) return null;
  const hex = frame.toString('hex', 1, HEADER_BYTES);
  const queryId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  if (!isUuid(queryId)) return null;
  return { queryId, data: frame.subarray(HEADER_BYTES) };
}

export const isQueryChunkFrame = (frame: Buffer): boolean =>
  frame.length >= HEADER_BYTES && frame[0] === QUERY_CHUNK_MAGIC;
