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
  joinPath,
  registerPostCheck,
  Rule,
} from '../catalog/validation';

/*
 * Queries through an agent (docs/browse.md): short-lived, read-only restic runs
 * whose output streams back to the control plane. Not jobs: nothing here is
 * durable, nothing becomes an event. `query.start`, `query.cancel` and the
 * answer (`query.end` or `query.error`) travel on the agent's socket; restic's
 * output travels on a connection of its own, the query's upload: its raw
 * bytes, ended by the agent half-closing it once restic has exited.
 */

export const QUERY_KINDS = ['ls', 'find', 'diff', 'dump'] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];
export const DUMP_ARCHIVES = ['tar', 'zip'] as const;
export type DumpArchive = (typeof DUMP_ARCHIVES)[number];

const isUploadToken = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9_-]{32,128}$/.test(v);
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
  /** The answer's cap; the control plane counts the upload against it and cuts the upload past it. */
  @IsPositiveInt() readonly max_bytes!: number;
  /** Opens the query's upload once (with the agent's credential); never logged. */
  @Rule('isUploadToken', isUploadToken, 'must be 32-128 base64url characters') readonly upload_token!: string;
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

/** Control plane → agent: nobody wants the rest (the browser went away); stop restic (SIGINT). */
export class QueryCancelPayload {
  @IsUuidStr() readonly query_id!: string;
}

/** Agent → control plane, on the socket: restic finished and its whole output is on the upload. */
export class QueryEndPayload {
  @IsUuidStr() readonly query_id!: string;
  /**
   * The upload's length, when the agent counted it (it copied restic's output);
   * absent when restic wrote into the upload itself (docs/browse.md, "The upload").
   */
  @IsOptional() @IsCount() readonly bytes?: number;
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

/** Agent → control plane, on the socket: the query failed; bytes already uploaded are incomplete. */
export class QueryErrorPayload {
  @IsUuidStr() readonly query_id!: string;
  @IsOneOf(QUERY_ERROR_CODES) readonly code!: QueryErrorCode;
  @IsText(4096) readonly message!: string;
  @IsOptional() @IsCode() readonly restic_code?: string;
}
