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
 * durable, nothing becomes an event. `query.start` and `query.cancel` travel
 * on the agent's socket; the answer travels on a connection of its own, the
 * query's upload (see QueryUploadDecoder): restic's bytes, then `query.end` or
 * `query.error`.
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
  /** The agent stops restic and answers `too_large` past this many bytes of output. */
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

/** Agent → control plane, last on the upload: restic finished and every byte was sent. */
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

/** Agent → control plane, last on the upload: the query failed; bytes already sent are incomplete. */
export class QueryErrorPayload {
  @IsUuidStr() readonly query_id!: string;
  @IsOneOf(QUERY_ERROR_CODES) readonly code!: QueryErrorCode;
  @IsText(4096) readonly message!: string;
  @IsOptional() @IsCode() readonly restic_code?: string;
}

/*
 * The upload: after the HTTP upgrade (docs/browse.md, "The upload") the
 * agent writes frames of a 5-byte header (type, then the payload's length,
 * 32-bit big-endian) and the payload. `data` frames carry restic's stdout as
 * it was read; exactly one `answer` frame (a `query.end` or `query.error`
 * envelope, JSON) ends the upload.
 */
export const UPLOAD_FRAME = { data: 0x01, answer: 0x02 } as const;
export const UPLOAD_HEADER_BYTES = 5;
/** The largest frame a decoder takes: restic's reads are 64 KiB; an answer is a few hundred bytes. */
export const UPLOAD_MAX_FRAME_BYTES = 1024 * 1024;
const MAX_ANSWER_BYTES = 16 * 1024;

export function encodeUploadHeader(type: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(UPLOAD_HEADER_BYTES);
  header[0] = type;
  header.writeUInt32BE(length, 1);
  return header;
}

export interface UploadSink {
  /** The next bytes of a data frame (shares the input's memory). */
  data(bytes: Buffer): void;
  /** The whole answer frame's text. */
  answer(text: string): void;
}

/**
 * Reads upload frames from arbitrary pieces of a byte stream. Data is handed
 * on as it arrives, never assembled; only a header split across pieces (and
 * the small answer frame) is copied. Throws on a malformed frame.
 */
export class QueryUploadDecoder {
  private header: Buffer = Buffer.alloc(0);
  private type = 0;
  /** Bytes of the current frame's payload still to come; -1 between frames. */
  private remaining = -1;
  private answerParts: Buffer[] = [];
  private answered = false;

  constructor(private readonly sink: UploadSink) {}

  get done(): boolean {
    return this.answered;
  }

  push(piece: Buffer): void {
    let at = 0;
    while (at < piece.length) {
      if (this.answered) throw new Error('bytes after the answer frame');
      if (this.remaining < 0) {
        const need = UPLOAD_HEADER_BYTES - this.header.length;
        const take = piece.subarray(at, at + need);
        this.header = this.header.length === 0 ? take : Buffer.concat([this.header, take]);
        at += take.length;
        if (this.header.length < UPLOAD_HEADER_BYTES) return;
        this.type = this.header[0]!;
        this.remaining = this.header.readUInt32BE(1);
        this.header = Buffer.alloc(0);
        if (this.type !== UPLOAD_FRAME.data && this.type !== UPLOAD_FRAME.answer)
          throw new Error(`unknown upload frame type ${this.type}`);
        const cap = this.type === UPLOAD_FRAME.answer ? MAX_ANSWER_BYTES : UPLOAD_MAX_FRAME_BYTES;
        if (this.remaining > cap)
          throw new Error(`an upload frame of ${this.remaining} bytes exceeds ${cap}`);
      }
      const take = piece.subarray(at, at + this.remaining);
      at += take.length;
      this.remaining -= take.length;
      if (this.type === UPLOAD_FRAME.data) {
        if (take.length > 0) this.sink.data(take);
      } else this.answerParts.push(take);
      if (this.remaining === 0) {
        this.remaining = -1;
        if (this.type === UPLOAD_FRAME.answer) {
          this.answered = true;
          this.sink.answer(Buffer.concat(this.answerParts).toString('utf8'));
          this.answerParts = [];
        }
      }
    }
  }
}
