import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import {
  IsCapabilities,
  IsPlatformName,
  IsRepoUrl,
  kindArgsIssues,
  JOB_PROGRESS_FIELDS,
  JobFinishedData,
  JobStartedData,
  LogLinesDroppedData,
  LogStreamLineData,
  RepoStatsFields,
  ScheduleListFields,
  SnapshotListFields,
} from '../catalog/events';
import { JOB_KINDS, type JobArgs, type JobKind } from '../catalog/job-args';
import {
  flatFastCheck,
  IsArrOf,
  IsBool,
  IsCode,
  IsCount,
  IsFraction,
  IsId,
  IsNonNegative,
  IsObj,
  IsObjArr,
  IsOneOf,
  IsOptionalText,
  IsPositiveInt,
  IsText,
  IsTimestamp,
  isUuid,
  registerFastCheck,
  registerPostCheck,
  Rule,
  RULES,
} from '../catalog/validation';
import { isAgentVersion } from './agent-version';
import { QueryCancelPayload, QueryEndPayload, QueryErrorPayload, QueryStartPayload } from './query-messages';

/*
 * Wire protocol payloads (docs/architecture.md, "Wire protocol"), snake_case as in the reference
 * system's structs. Where a payload is exactly an event's data the event's
 * class is reused, so the two can never drift apart.
 */

export class HelloPayload {
  @IsPositiveInt() readonly protocol_version!: number;
  @IsText(64) readonly agent_version!: string;
  /** Empty when the agent could not find restic. */
  @IsOptionalText(64) readonly restic_version!: string;
  @IsText(253) readonly hostname!: string;
  @IsPlatformName() readonly os!: string;
  @IsPlatformName() readonly arch!: string;
  @IsOptional() @IsTimestamp() readonly boot_time?: string;
  /** See AGENT_CAPABILITIES; older agents send none. */
  @IsOptional() @IsCapabilities() readonly capabilities?: string[];
  /** The host's `allow_hooks` setting. Absent from agents that predate it (they run every hook they are given). */
  @IsOptional() @IsBool() readonly allow_hooks?: boolean;
}

export class HeartbeatPayload {
  @IsTimestamp() readonly sent_at!: string;
}
registerFastCheck(
  HeartbeatPayload,
  flatFastCheck<HeartbeatPayload>([{ name: 'sent_at', rule: RULES.timestamp }]),
);

/** One repository a host is attached to, with its secrets in the clear (they live only in the agent's memory). */
export class RepositoryAccess {
  @IsId() readonly repository_id!: string;
  @IsRepoUrl() readonly url!: string;
  @IsText(1024) readonly password!: string;
  @IsOptional() @IsText(256) readonly username?: string;
  @IsOptional() @IsText(4096) readonly credential?: string;
}

/**
 * Repository settings for the agent. Carries secrets: log it only through
 * `redactSecrets` (SECRET_FIELD_NAMES names `repo_password`, `password`, …). `repo_*` name the host's default repository (the one a
 * job without `repository_id` uses; all an agent without the `repositories`
 * capability reads); `repositories` lists every repository the host is
 * attached to, the default one included.
 */
export class ConfigUpdatePayload {
  @IsRepoUrl() readonly repo_url!: string;
  @IsText(1024) readonly repo_password!: string;
  @IsOptional() @IsText(256) readonly repo_username?: string;
  @IsOptional() @IsText(4096) readonly repo_credential?: string;
  @IsOptional() @IsId() readonly repository_id?: string;
  @IsOptional()
  @IsObjArr({ max: 256 })
  @ValidateNested({ each: true })
  @Type(() => RepositoryAccess)
  readonly repositories?: RepositoryAccess[];
}
export const ScheduleSetPayload = ScheduleListFields;
export type ScheduleSetPayload = ScheduleListFields;

export class ScheduleAckPayload {
  @IsCount() readonly version!: number;
  @IsTimestamp() readonly applied_at!: string;
}

export class ScheduleFirePayload {
  @IsId() readonly schedule_id!: string;
  @IsTimestamp() readonly scheduled_at!: string;
}

export class CommandRunPayload {
  @IsId() readonly job_id!: string;
  @IsOneOf(JOB_KINDS) readonly kind!: JobKind;
  /** Validated against `kind`; unknown args are rejected. */
  @IsObj() readonly args!: JobArgs;
  /** Set for scheduled jobs: the agent runs that schedule's pre/post hooks around restic. */
  @IsOptional() @IsId() readonly schedule_id?: string;
  /** The repository to work on (a copy's source); the default one (config.update `repo_*`) when absent. */
  @IsOptional() @IsId() readonly repository_id?: string;
}
registerPostCheck(CommandRunPayload, (p, prefix) => kindArgsIssues(p.kind, p.args, prefix));

export class CommandCancelPayload {
  @IsId() readonly job_id!: string;
}

/** The agent's answer to command.run: accepted (persisted locally) or not. Not the job's completion. */
export class CommandResultPayload {
  @IsId() readonly job_id!: string;
  @IsBool() readonly accepted!: boolean;
  @IsOptional() @IsText(4096) readonly error?: string;
}

export const JobStartedPayload = JobStartedData;
export type JobStartedPayload = JobStartedData;

export class JobProgressPayload {
  @IsId() readonly job_id!: string;
  @IsFraction() readonly percent_done!: number;
  @IsCount() readonly files_done!: number;
  @IsCount() readonly total_files!: number;
  @IsCount() readonly bytes_done!: number;
  @IsCount() readonly total_bytes!: number;
  @IsOptional() @IsNonNegative() readonly eta_seconds?: number;
  @IsNonNegative() readonly throughput_bps!: number;
}
registerFastCheck(JobProgressPayload, flatFastCheck<JobProgressPayload>(JOB_PROGRESS_FIELDS));

export const JobFinishedPayload = JobFinishedData;
export type JobFinishedPayload = JobFinishedData;
export const LogStreamPayload = LogStreamLineData;
export type LogStreamPayload = LogStreamLineData;
/** The agent's outbox says how many log lines it had to drop (inclusive seq range). */
export const LogDroppedPayload = LogLinesDroppedData;
export type LogDroppedPayload = LogLinesDroppedData;

export const SnapshotsReportPayload = SnapshotListFields;
export type SnapshotsReportPayload = SnapshotListFields;
export const RepoStatsPayload = RepoStatsFields;
export type RepoStatsPayload = RepoStatsFields;

/**
 * The control plane serves a newer single-file agent. An agent with
 * `auto_update: true` downloads `url`, checks `sha256` and installs it
 * (apps/agent/README.md, "Updates"); any other agent only logs it.
 */
export class AgentUpdateAvailablePayload {
  @Rule('agent_version', isAgentVersion, 'a version such as 1.2.3') readonly version!: string;
  @Rule('sha256', (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), '64 lower-case hex digits')
  readonly sha256!: string;
  @Rule('http_url', isHttpUrl, 'an http(s) URL of at most 2048 characters') readonly url!: string;
}

function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string' || v.length > 2048) return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Sent by the server only after the events for these envelope ids are appended. */
export class AckPayload {
  @IsArrOf(isUuid, 'a UUID', { min: 1, max: 1000 }) readonly ids!: string[];
}
const ACK_IDS_TEXT = 'must be an array of 1 to 1000 items, each a UUID';
registerFastCheck(
  AckPayload,
  flatFastCheck<AckPayload>([
    {
      name: 'ids',
      rule: {
        name: 'isArrOf',
        check: (v) => Array.isArray(v) && v.length >= 1 && v.length <= 1000 && v.every(isUuid),
        text: ACK_IDS_TEXT,
      },
    },
  ]),
);

/** A rejected message: the connection stays up. `field` is a path such as `payload.seq`. */
export class ErrorPayload {
  @IsCode() readonly code!: string;
  @IsText(4096) readonly message!: string;
  @IsOptional() @IsText(128) readonly ref_id?: string;
  @IsOptional() @IsText(256) readonly field?: string;
}

/** Message type → payload class. */
export const WIRE_PAYLOAD_CLASSES = {
  hello: HelloPayload,
  heartbeat: HeartbeatPayload,
  'config.update': ConfigUpdatePayload,
  'schedule.set': ScheduleSetPayload,
  'schedule.ack': ScheduleAckPayload,
  'schedule.fire': ScheduleFirePayload,
  'command.run': CommandRunPayload,
  'command.cancel': CommandCancelPayload,
  'command.result': CommandResultPayload,
  'job.started': JobStartedPayload,
  'job.progress': JobProgressPayload,
  'job.finished': JobFinishedPayload,
  'log.stream': LogStreamPayload,
  'log.dropped': LogDroppedPayload,
  'snapshots.report': SnapshotsReportPayload,
  'repo.stats': RepoStatsPayload,
  'agent.update_available': AgentUpdateAvailablePayload,
  'query.start': QueryStartPayload,
  'query.cancel': QueryCancelPayload,
  'query.end': QueryEndPayload,
  'query.error': QueryErrorPayload,
  ack: AckPayload,
  error: ErrorPayload,
} as const;

export type WireType = keyof typeof WIRE_PAYLOAD_CLASSES;
export const WIRE_TYPES = Object.keys(WIRE_PAYLOAD_CLASSES) as WireType[];
export const isWireType = (v: unknown): v is WireType =>
  typeof v === 'string' && Object.prototype.hasOwnProperty.call(WIRE_PAYLOAD_CLASSES, v);
export type WirePayloadMap = { [K in WireType]: InstanceType<(typeof WIRE_PAYLOAD_CLASSES)[K]> };

export const AGENT_TO_SERVER: ReadonlySet<WireType> = new Set<WireType>([
  'hello',
  'heartbeat',
  'schedule.ack',
  'schedule.fire',
  'command.result',
  'job.started',
  'job.progress',
  'job.finished',
  'log.stream',
  'log.dropped',
  'snapshots.report',
  'repo.stats',
  'query.end',
  'query.error',
]);
export const SERVER_TO_AGENT: ReadonlySet<WireType> = new Set<WireType>([
  'config.update',
  'schedule.set',
  'command.run',
  'command.cancel',
  'agent.update_available',
  'query.start',
  'query.cancel',
  'ack',
  'error',
]);
/** Answers to queries (docs/browse.md): on the socket, but never stored, acked or replayed. */
export const QUERY_ANSWERS: ReadonlySet<WireType> = new Set<WireType>(['query.end', 'query.error']);
/** Agent → server messages kept in the agent's outbox until acked: all but heartbeat and query answers. */
export const DURABLE_AGENT_MESSAGES: ReadonlySet<WireType> = new Set<WireType>(
  [...AGENT_TO_SERVER].filter((t) => t !== 'heartbeat' && !QUERY_ANSWERS.has(t)),
);
