import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import {
  JOB_FINAL_STATUSES,
  JOB_KINDS,
  type JobArgs,
  type JobFinalStatus,
  type JobKind,
  validateJobArgs,
} from './job-args';
import {
  AlertAcknowledgedData,
  AlertRaisedData,
  AlertResolvedData,
  AlertRulesChangedData,
  ChannelConfiguredData,
  ChannelRemovedData,
  NotificationFailedData,
  NotificationSentData,
} from './alert-events';
import { EncryptedSecret } from './encrypted-secret';

export { EncryptedSecret };
import { RepositorySchedule, Schedule, scheduleListIssues } from './schedule';
import {
  type FieldIssue,
  IsObjArr,
  IsArrOf,
  IsBool,
  IsCode,
  IsCount,
  IsFraction,
  IsId,
  IsNonNegative,
  IsObj,
  IsOneOf,
  IsOptionalText,
  IsPositiveInt,
  IsText,
  IsTimestamp,
  isCode,
  isText,
  joinPath,
  registerPostCheck,
  Rule,
  flatFastCheck,
  type FlatField,
  FromRule,
  oneOfRule,
  registerFastCheck,
  RULES,
  spec,
} from './validation';

/*
 * The event catalog (docs/architecture.md, "Event catalog"). Type names are PascalCase past tense,
 * payload fields snake_case. Each payload is a class whose decorators validate
 * it on write (`toEventData`); reads trust the log and skip validation.
 */

// ---------------------------------------------------------------------------
// Shared value types and rules

export const OS_NAME_RE = /^[a-z0-9_]{1,32}$/;
const isOsName = (v: unknown): boolean => typeof v === 'string' && OS_NAME_RE.test(v);
/** Lower-case GOOS/GOARCH-style names (`linux`, `windows`, `amd64`, `arm64`) so one host never shows up as both `linux` and `Linux`. */
export const IsPlatformName = () =>
  Rule('isPlatformName', isOsName, 'must be a lower-case name [a-z0-9_], at most 32 characters');
const IsHostname = () => IsText(253);

/**
 * Features an agent announces in `hello`. `repositories`: it reads
 * `config.update.repositories`, `command.run.repository_id` and runs `copy`;
 * an agent without it knows only its host's one repository, so the control
 * plane sends it no job for another one. `query_raw_upload`: it answers
 * `query.start` with restic's raw output on an upload of its own and the
 * answer on the socket (snapshot browse, search, diff and download;
 * docs/browse.md). Older agents announced `queries` (answers on the socket)
 * or `query_upload` (framed answers on the upload), which this control plane
 * no longer speaks.
 */
export const AGENT_CAPABILITIES = ['repositories', 'query_raw_upload'] as const;
export type AgentCapability = (typeof AGENT_CAPABILITIES)[number];
/** Unknown capability names are kept (a newer agent may announce more). */
export const IsCapabilities = () => IsArrOf(isCode, 'a lower-case capability name', { max: 64 });

/** A control-plane node id (`RF_NODE_ID`): letters, digits and `. _ -`, 1..64 characters. */
export const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const IsNodeId = () =>
  Rule(
    'isNodeId',
    (v: unknown) => typeof v === 'string' && NODE_ID_RE.test(v),
    'must be a node id ([A-Za-z0-9._-], 1..64)',
  );

export const DISCONNECT_REASONS = [
  'closed',
  'heartbeat_timeout',
  'revoked',
  'replaced',
  'server_shutdown',
  'protocol_error',
  /** The control plane could not store what the agent sent; the agent reconnects and resends it. */
  'store_unavailable',
  /** The node holding the socket stopped renewing its lease (docs/architecture.md, "Several nodes"). */
  'node_lost',
] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

export const LOG_STREAMS = ['stdout', 'stderr', 'event', 'hook', 'agent'] as const;
export type LogStreamName = (typeof LOG_STREAMS)[number];
/** Longest log line payload accepted; agents truncate longer lines. */
export const MAX_LOG_PAYLOAD_CHARS = 65_536;
export const isLogPayload = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= MAX_LOG_PAYLOAD_CHARS;
const LOG_PAYLOAD_RULE = spec(
  'isLogPayload',
  isLogPayload,
  `must be a string of at most ${MAX_LOG_PAYLOAD_CHARS} characters`,
);
const IsLogPayload = () => FromRule(LOG_PAYLOAD_RULE);

export const USER_ROLES = ['admin', 'operator', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Error codes the agent sets on JobFinished.error_code; others may appear (lower snake case). */
export const KNOWN_JOB_ERROR_CODES = [
  'repo_not_found',
  'repo_locked',
  'wrong_password',
  'repo_not_configured',
  'source_missing',
  'partial_read',
  'cancelled',
  'timeout',
  'restic_not_found',
  'restic_failed',
  'hook_failed',
  'hooks_not_allowed',
  'invalid_args',
  'agent_restarted',
] as const;

/**
 * True when a repository URL carries a password (`scheme://user:pass@host`).
 * A user name alone (`sftp:user@host:/srv`) is not a credential.
 */
export function urlHasCredentials(url: string): boolean {
  return /:\/\/[^/@\s]*:[^/@\s]*@/.test(url);
}
export const isRepoUrl = (v: unknown): v is string =>
  isText(v, 2048) && !urlHasCredentials(v) && !/[\r\n]/.test(v);
export const IsRepoUrl = () =>
  Rule(
    'isRepoUrl',
    isRepoUrl,
    'must be a restic repository URL of at most 2048 characters without an embedded password',
  );

const isHexId = (min: number, max: number) => (v: unknown) =>
  typeof v === 'string' && v.length >= min && v.length <= max && /^[0-9a-f]+$/.test(v);

/** One restic snapshot as reported by the agent (from `restic snapshots --json`). */
export class Snapshot {
  @Rule('isSnapshotId', isHexId(8, 64), 'must be a hex snapshot id') readonly id!: string;
  @Rule('isShortId', isHexId(8, 8), 'must be 8 hex characters') readonly short_id!: string;
  @IsTimestamp() readonly time!: string;
  @IsHostname() readonly hostname!: string;
  @IsArrOf((v) => isText(v, 4096), 'a non-empty path', { max: 10_000 }) readonly paths!: string[];
  @IsOptional()
  @IsArrOf((v) => typeof v === 'string' && v.length <= 256, 'a tag', { max: 1000 })
  readonly tags?: string[];
  @IsOptional() @IsCount() readonly size_bytes?: number;
  @IsOptional() @IsCount() readonly file_count?: number;
  @IsOptional() @Rule('isSnapshotId', isHexId(8, 64), 'must be a hex snapshot id') readonly parent?: string;
}

/** A versioned desired list of a repository's schedules. */
export class RepositoryScheduleListFields {
  @IsCount() readonly version!: number;
  @IsObjArr({ max: 1000 })
  @ValidateNested({ each: true })
  @Type(() => RepositorySchedule)
  readonly schedules!: RepositorySchedule[];
}
registerPostCheck(RepositoryScheduleListFields, (d, prefix) =>
  scheduleListIssues(d.schedules, joinPath(prefix, 'schedules'), 'reject'),
);

// ---------------------------------------------------------------------------
// host-{hostId}

export class HostEnrolledData {
  @IsId() readonly host_id!: string;
  @IsHostname() readonly hostname!: string;
  @IsPlatformName() readonly os!: string;
  @IsPlatformName() readonly arch!: string;
  @IsText(1024) readonly agent_secret_hash!: string;
  @IsId() readonly enrolment_token_id!: string;
  @IsTimestamp() readonly enrolled_at!: string;
}

export class AgentConnectedData {
  @IsId() readonly host_id!: string;
  @IsPositiveInt() readonly protocol_version!: number;
  @IsText(64) readonly agent_version!: string;
  /** Empty when the agent could not find restic. */
  @IsOptionalText(64) readonly restic_version!: string;
  @IsHostname() readonly hostname!: string;
  @IsPlatformName() readonly os!: string;
  @IsPlatformName() readonly arch!: string;
  @IsOptional() @IsTimestamp() readonly boot_time?: string;
  @IsTimestamp() readonly connected_at!: string;
  /** What the agent understands beyond protocol 1 (hello `capabilities`); absent from older agents. */
  @IsOptional() @IsCapabilities() readonly capabilities?: string[];
  /** Whether the host runs schedule hooks (`allow_hooks` in agent.yaml); absent when the agent does not say. */
  @IsOptional() @IsBool() readonly allow_hooks?: boolean;
  /** The control-plane node holding the socket; absent in logs written before nodes had ids. */
  @IsOptional() @IsNodeId() readonly node_id?: string;
}

export class AgentDisconnectedData {
  @IsId() readonly host_id!: string;
  @IsOneOf(DISCONNECT_REASONS) readonly reason!: DisconnectReason;
  @IsTimestamp() readonly disconnected_at!: string;
  /** The node that recorded it: the one that held the socket, or the one that found that node's lease lapsed. */
  @IsOptional() @IsNodeId() readonly node_id?: string;
}

export class RepositoryConfiguredData {
  @IsId() readonly host_id!: string;
  @IsRepoUrl() readonly url!: string;
  @IsOptional() @IsText(256) readonly username?: string;
  @IsObj() @ValidateNested() @Type(() => EncryptedSecret) readonly password!: EncryptedSecret;
  @IsOptional() @IsObj() @ValidateNested() @Type(() => EncryptedSecret) readonly credential?: EncryptedSecret;
}

export class HostRevokedData {
  @IsId() readonly host_id!: string;
  @IsOptional() @IsText(1024) readonly reason?: string;
  @IsTimestamp() readonly revoked_at!: string;
}

/** An operator asked a host's agent to install the agent file the control plane serves. */
export class AgentUpdateRequestedData {
  @IsId() readonly host_id!: string;
  @IsText(64) readonly version!: string;
  @IsText(64) readonly sha256!: string;
  @IsTimestamp() readonly requested_at!: string;
}

/** Repository facts as the agent reports them (the wire `repo.stats` payload). */
export class RepoStatsFields {
  @IsOptional() @IsId() readonly job_id?: string;
  /** The repository measured; absent from agents that know only their host's one repository. */
  @IsOptional() @IsId() readonly repository_id?: string;
  @IsCount() readonly total_size_bytes!: number;
  @IsOptional() @IsCount() readonly raw_size_bytes?: number;
  @IsCount() readonly snapshot_count!: number;
  @IsOptional() @IsCount() readonly file_count?: number;
  @IsOptional() @IsNonNegative() readonly compression_ratio?: number;
  @IsOptional() @IsTimestamp() readonly last_check_at?: string;
  @IsOptional() @IsText(64) readonly last_check_status?: string;
}

export class RepoStatsReportedData extends RepoStatsFields {
  @IsId() readonly host_id!: string;
  @IsTimestamp() readonly reported_at!: string;
}

// ---------------------------------------------------------------------------
// repository-{repositoryId} (docs/repositories.md)

export const IsRepositoryName = () => IsText(128);

/** A repository joins the fleet under a name; its URL never holds a secret. */
export class RepositoryRegisteredData {
  @IsId() readonly repository_id!: string;
  @IsRepositoryName() readonly name!: string;
  @IsRepoUrl() readonly url!: string;
}

/** The name or URL changed (the URL of a repository that moved to another server). */
export class RepositoryChangedData extends RepositoryRegisteredData {}

/** The repository's secrets, sealed like RepositoryConfigured's. Replaces the previous ones whole. */
export class RepositorySecretsSetData {
  @IsId() readonly repository_id!: string;
  @IsObj() @ValidateNested() @Type(() => EncryptedSecret) readonly password!: EncryptedSecret;
  @IsOptional() @IsText(256) readonly username?: string;
  @IsOptional() @IsObj() @ValidateNested() @Type(() => EncryptedSecret) readonly credential?: EncryptedSecret;
}

export class RepositoryAttachedData {
  @IsId() readonly repository_id!: string;
  @IsId() readonly host_id!: string;
}

export class RepositoryDetachedData extends RepositoryAttachedData {}

/** Only the control plane's record goes; restic's data stays where it is. */
export class RepositoryRemovedData {
  @IsId() readonly repository_id!: string;
  @IsOptional() @IsText(1024) readonly reason?: string;
}

/**
 * Someone fetched backed-up data through the control plane (docs/browse.md): who
 * (the event's actor), which path of which snapshot, in what form, through which
 * host. Recorded when the bytes start to flow, so an interrupted download still counts.
 */
export class SnapshotDownloadedData {
  @IsId() readonly repository_id!: string;
  @Rule(
    'isSnapshotId',
    (v) => typeof v === 'string' && /^[0-9a-f]{4,64}$/.test(v),
    'must be a hex snapshot id',
  )
  readonly snapshot_id!: string;
  @IsText(4096) readonly path!: string;
  @IsOneOf(['file', 'tar', 'zip'] as const) readonly format!: 'file' | 'tar' | 'zip';
  /** The host whose agent ran `restic dump`. */
  @IsId() readonly host_id!: string;
  /** The file's size; absent for an archive (not known in advance). */
  @IsOptional() @IsCount() readonly size?: number;
}

/** The repository's maintenance and copy schedules (fired by the control plane, run on one attached host). */
export class RepositorySchedulesChangedData extends RepositoryScheduleListFields {
  @IsId() readonly repository_id!: string;
}

// ---------------------------------------------------------------------------
// job-{jobId}

export class JobRequestedData {
  @IsId() readonly job_id!: string;
  @IsId() readonly host_id!: string;
  @IsOneOf(JOB_KINDS) readonly kind!: JobKind;
  /** Validated against `kind` (validateJobArgs). */
  @IsObj() readonly args!: JobArgs;
  @IsOptional() @IsId() readonly schedule_id?: string;
  /**
   * Since schema v2: the repository the job works on (a copy's source). v1
   * events are upcast to the host's own repository (see upcasters); a v2 event
   * without it means the host's only repository.
   */
  @IsOptional() @IsId() readonly repository_id?: string;
  @IsTimestamp() readonly requested_at!: string;
}

/** Checks `args` against `kind`, reporting `<prefix>.args.<field>`. */
export function kindArgsIssues(kind: JobKind, args: unknown, prefix: string): FieldIssue[] {
  const r = validateJobArgs(kind, args, { prefix: joinPath(prefix, 'args'), unknown: 'reject' });
  return r.ok ? [] : r.issues;
}
registerPostCheck(JobRequestedData, (d, prefix) => kindArgsIssues(d.kind, d.args, prefix));

export class JobDispatchedData {
  @IsId() readonly job_id!: string;
  @IsId() readonly host_id!: string;
  @IsTimestamp() readonly dispatched_at!: string;
}

export class JobAcceptedData {
  @IsId() readonly job_id!: string;
  @IsTimestamp() readonly accepted_at!: string;
}

export class JobRejectedData {
  @IsId() readonly job_id!: string;
  @IsText(4096) readonly error!: string;
  @IsTimestamp() readonly rejected_at!: string;
}

export class JobStartedData {
  @IsId() readonly job_id!: string;
  @IsOneOf(JOB_KINDS) readonly kind!: JobKind;
  @IsTimestamp() readonly started_at!: string;
  @IsOptional() @IsOptionalText(64) readonly restic_version?: string;
}

export class JobCancelRequestedData {
  @IsId() readonly job_id!: string;
  @IsTimestamp() readonly requested_at!: string;
}

export class JobFinishedData {
  @IsId() readonly job_id!: string;
  @IsOneOf(JOB_FINAL_STATUSES) readonly status!: JobFinalStatus;
  @Rule(
    'isExitCode',
    (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1 && v <= 255,
    'must be an integer from -1 to 255',
  )
  readonly exit_code!: number;
  @IsTimestamp() readonly finished_at!: string;
  /** restic's summary blob (or the kind's result), kept as reported. */
  @IsOptional() @IsObj() readonly stats?: Record<string, unknown>;
  @IsOptional() @IsText(16_384) readonly error?: string;
  /** Since schema v2 (v1 events are upcast, see upcasters). */
  @IsOptional() @IsCode() readonly error_code?: string;
  @IsOptional() @IsCount() readonly log_lines?: number;
  @IsOptional() @IsCount() readonly dropped_log_lines?: number;
}

export class JobLostData {
  @IsId() readonly job_id!: string;
  @IsId() readonly host_id!: string;
  @IsText(1024) readonly reason!: string;
  @IsTimestamp() readonly lost_at!: string;
}

// ---------------------------------------------------------------------------
// joblog-{jobId}

export class JobProgressData {
  @IsId() readonly job_id!: string;
  @IsFraction() readonly percent_done!: number;
  @IsCount() readonly files_done!: number;
  @IsCount() readonly total_files!: number;
  @IsCount() readonly bytes_done!: number;
  @IsCount() readonly total_bytes!: number;
  @IsOptional() @IsNonNegative() readonly eta_seconds?: number;
  @IsNonNegative() readonly throughput_bps!: number;
  @IsTimestamp() readonly ts!: string;
}

export class LogStreamLineData {
  @IsId() readonly job_id!: string;
  @IsCount() readonly seq!: number;
  @IsTimestamp() readonly ts!: string;
  @IsOneOf(LOG_STREAMS) readonly stream!: LogStreamName;
  @IsLogPayload() readonly payload!: string;
}

export class LogLinesDroppedData {
  @IsId() readonly job_id!: string;
  @IsCount() readonly from_seq!: number;
  @IsCount() readonly to_seq!: number;
  @IsPositiveInt() readonly count!: number;
}
/** `from_seq..to_seq` is an inclusive range. */
export function droppedRangeIssues(d: { from_seq: number; to_seq: number }, prefix: string): FieldIssue[] {
  if (d.from_seq <= d.to_seq) return [];
  const field = joinPath(prefix, 'to_seq');
  return [{ field, message: `${field} must not be less than from_seq` }];
}
registerPostCheck(LogLinesDroppedData, (d, prefix) => droppedRangeIssues(d, prefix));

// ---------------------------------------------------------------------------
// schedules-{hostId}

/** A versioned desired schedule list (the wire `schedule.set` payload). */
export class ScheduleListFields {
  @IsCount() readonly version!: number;
  @IsObjArr({ max: 1000 })
  @ValidateNested({ each: true })
  @Type(() => Schedule)
  readonly schedules!: Schedule[];
}
// Job args are strict everywhere (an ignored arg would change what restic does).
registerPostCheck(ScheduleListFields, (d, prefix) =>
  scheduleListIssues(d.schedules, joinPath(prefix, 'schedules'), 'reject'),
);

export class SchedulesChangedData extends ScheduleListFields {
  @IsId() readonly host_id!: string;
}

export class SchedulesAppliedData {
  @IsId() readonly host_id!: string;
  @IsCount() readonly version!: number;
  @IsTimestamp() readonly applied_at!: string;
}

export class ScheduleFiredData {
  @IsId() readonly host_id!: string;
  @IsId() readonly schedule_id!: string;
  @IsTimestamp() readonly scheduled_at!: string;
  @IsId() readonly job_id!: string;
}

// ---------------------------------------------------------------------------
// snapshots-{hostId}

/** A host's full snapshot list (the wire `snapshots.report` payload). */
export class SnapshotListFields {
  @IsOptional() @IsId() readonly job_id?: string;
  /** The repository listed; absent from agents that know only their host's one repository. */
  @IsOptional() @IsId() readonly repository_id?: string;
  @IsObjArr({ max: 100_000 })
  @ValidateNested({ each: true })
  @Type(() => Snapshot)
  readonly snapshots!: Snapshot[];
}

export class SnapshotsReportedData extends SnapshotListFields {
  @IsId() readonly host_id!: string;
  @IsTimestamp() readonly reported_at!: string;
}

// ---------------------------------------------------------------------------
// Identity: user-{userId}, token-{tokenId}, enrolment-{tokenId}

export class UserCreatedData {
  @IsId() readonly user_id!: string;
  @Rule(
    'isUsername',
    (v) => typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(v),
    'must be 1-64 characters [A-Za-z0-9._@-]',
  )
  readonly username!: string;
  @IsOneOf(USER_ROLES) readonly role!: UserRole;
  @IsText(1024) readonly password_hash!: string;
}

export class UserPasswordChangedData {
  @IsId() readonly user_id!: string;
  @IsText(1024) readonly password_hash!: string;
  @IsTimestamp() readonly changed_at!: string;
}

export class UserRoleChangedData {
  @IsId() readonly user_id!: string;
  @IsOneOf(USER_ROLES) readonly role!: UserRole;
  @IsTimestamp() readonly changed_at!: string;
}

export class UserDisabledData {
  @IsId() readonly user_id!: string;
  @IsOptional() @IsText(1024) readonly reason?: string;
  @IsTimestamp() readonly disabled_at!: string;
}

/** Undoes UserDisabled (an admin re-enables the account). */
export class UserEnabledData {
  @IsId() readonly user_id!: string;
  @IsTimestamp() readonly enabled_at!: string;
}

export class UserLoggedInData {
  @IsId() readonly user_id!: string;
  @IsTimestamp() readonly at!: string;
  /**
   * The browser session it opened (absent before sessions were shared by the
   * nodes): the sha256 of the cookie value, never the value.
   */
  @IsOptional() @IsText(128) readonly session_id_hash?: string;
  @IsOptional() @IsTimestamp() readonly session_expires_at?: string;
}

/** A browser session ended by its user (log out), on whichever node. */
export class UserLoggedOutData {
  @IsId() readonly user_id!: string;
  @IsText(128) readonly session_id_hash!: string;
  @IsTimestamp() readonly at!: string;
}

export class UserLoginFailedData {
  /** As typed by the client (it may not name a real user). */
  @IsOptionalText(256) readonly username!: string;
  @IsCode() readonly reason!: string;
  @IsTimestamp() readonly at!: string;
}

export class ApiTokenCreatedData {
  @IsId() readonly token_id!: string;
  @IsText(128) readonly name!: string;
  @IsOneOf(USER_ROLES) readonly role!: UserRole;
  @IsText(1024) readonly token_hash!: string;
  @IsId() readonly created_by!: string;
  @IsOptional() @IsTimestamp() readonly expires_at?: string;
}

export class ApiTokenRevokedData {
  @IsId() readonly token_id!: string;
  @IsOptional() @IsText(1024) readonly reason?: string;
  @IsTimestamp() readonly revoked_at!: string;
}

export class EnrolmentTokenCreatedData {
  @IsId() readonly token_id!: string;
  @IsText(1024) readonly token_hash!: string;
  @IsTimestamp() readonly expires_at!: string;
  @IsId() readonly created_by!: string;
}

export class EnrolmentTokenUsedData {
  @IsId() readonly token_id!: string;
  @IsId() readonly host_id!: string;
  @IsTimestamp() readonly used_at!: string;
}

export class EnrolmentTokenRevokedData {
  @IsId() readonly token_id!: string;
  @IsTimestamp() readonly revoked_at!: string;
}

// ---------------------------------------------------------------------------
// The union

/** Event type → payload class. The single source of truth for the catalog. */
export const EVENT_DATA_CLASSES = {
  HostEnrolled: HostEnrolledData,
  AgentConnected: AgentConnectedData,
  AgentDisconnected: AgentDisconnectedData,
  RepositoryConfigured: RepositoryConfiguredData,
  HostRevoked: HostRevokedData,
  AgentUpdateRequested: AgentUpdateRequestedData,
  RepoStatsReported: RepoStatsReportedData,
  RepositoryRegistered: RepositoryRegisteredData,
  RepositoryChanged: RepositoryChangedData,
  RepositorySecretsSet: RepositorySecretsSetData,
  RepositoryAttached: RepositoryAttachedData,
  RepositoryDetached: RepositoryDetachedData,
  RepositoryRemoved: RepositoryRemovedData,
  RepositorySchedulesChanged: RepositorySchedulesChangedData,
  SnapshotDownloaded: SnapshotDownloadedData,
  JobRequested: JobRequestedData,
  JobDispatched: JobDispatchedData,
  JobAccepted: JobAcceptedData,
  JobRejected: JobRejectedData,
  JobStarted: JobStartedData,
  JobCancelRequested: JobCancelRequestedData,
  JobFinished: JobFinishedData,
  JobLost: JobLostData,
  JobProgress: JobProgressData,
  LogStreamLine: LogStreamLineData,
  LogLinesDropped: LogLinesDroppedData,
  SchedulesChanged: SchedulesChangedData,
  SchedulesApplied: SchedulesAppliedData,
  ScheduleFired: ScheduleFiredData,
  SnapshotsReported: SnapshotsReportedData,
  UserCreated: UserCreatedData,
  UserPasswordChanged: UserPasswordChangedData,
  UserRoleChanged: UserRoleChangedData,
  UserDisabled: UserDisabledData,
  UserEnabled: UserEnabledData,
  UserLoggedIn: UserLoggedInData,
  UserLoggedOut: UserLoggedOutData,
  UserLoginFailed: UserLoginFailedData,
  ApiTokenCreated: ApiTokenCreatedData,
  ApiTokenRevoked: ApiTokenRevokedData,
  EnrolmentTokenCreated: EnrolmentTokenCreatedData,
  EnrolmentTokenUsed: EnrolmentTokenUsedData,
  EnrolmentTokenRevoked: EnrolmentTokenRevokedData,
  AlertRaised: AlertRaisedData,
  AlertAcknowledged: AlertAcknowledgedData,
  AlertResolved: AlertResolvedData,
  AlertRulesChanged: AlertRulesChangedData,
  ChannelConfigured: ChannelConfiguredData,
  ChannelRemoved: ChannelRemovedData,
  NotificationSent: NotificationSentData,
  NotificationFailed: NotificationFailedData,
} as const;

export type FleetEventType = keyof typeof EVENT_DATA_CLASSES;
export const FLEET_EVENT_TYPES = Object.keys(EVENT_DATA_CLASSES) as FleetEventType[];
/** A set: asked for every event a projection reads, where a property lookup on the class map cost more. */
const FLEET_EVENT_TYPE_SET: ReadonlySet<string> = new Set(FLEET_EVENT_TYPES);
export const isFleetEventType = (v: unknown): v is FleetEventType =>
  typeof v === 'string' && FLEET_EVENT_TYPE_SET.has(v);

/** Event type → payload type. */
export type FleetEventDataMap = { [K in FleetEventType]: InstanceType<(typeof EVENT_DATA_CLASSES)[K]> };
/** Every known event: `switch (event.type)` narrows `event.data`. */
export type FleetEvent = {
  [K in FleetEventType]: { readonly type: K; readonly data: FleetEventDataMap[K] };
}[FleetEventType];
export type FleetEventOf<K extends FleetEventType> = Extract<FleetEvent, { type: K }>;

/** Builds a typed event (handy where inference of the union needs help). */
export function fleetEvent<K extends FleetEventType>(type: K, data: FleetEventDataMap[K]): FleetEventOf<K> {
  return { type, data } as FleetEventOf<K>;
}

/** A stored event whose type this build does not know (written by a newer version); readers skip or display it. */
export interface UnknownFleetEvent {
  readonly type: 'unknown';
  readonly original_type: string;
  readonly data: unknown;
}

// ---------------------------------------------------------------------------
// Fast paths for the hot types (one per log line / progress tick); they must
// agree with the decorators above (see fast-path agreement tests).

/** Fields of LogStreamLineData, in declaration order (also the wire `log.stream` payload). */
export const LOG_STREAM_LINE_FIELDS: readonly FlatField[] = [
  { name: 'job_id', rule: RULES.id },
  { name: 'seq', rule: RULES.count },
  { name: 'ts', rule: RULES.timestamp },
  { name: 'stream', rule: oneOfRule(LOG_STREAMS) },
  { name: 'payload', rule: LOG_PAYLOAD_RULE },
];
registerFastCheck(LogStreamLineData, flatFastCheck<LogStreamLineData>(LOG_STREAM_LINE_FIELDS));

/** Fields of the wire `job.progress` payload; JobProgressData adds `ts`. */
export const JOB_PROGRESS_FIELDS: readonly FlatField[] = [
  { name: 'job_id', rule: RULES.id },
  { name: 'percent_done', rule: RULES.fraction },
  { name: 'files_done', rule: RULES.count },
  { name: 'total_files', rule: RULES.count },
  { name: 'bytes_done', rule: RULES.count },
  { name: 'total_bytes', rule: RULES.count },
  { name: 'eta_seconds', rule: RULES.nonNegative, optional: true },
  { name: 'throughput_bps', rule: RULES.nonNegative },
];
registerFastCheck(
  JobProgressData,
  flatFastCheck<JobProgressData>([...JOB_PROGRESS_FIELDS, { name: 'ts', rule: RULES.timestamp }]),
);
