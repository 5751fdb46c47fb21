import type { EventMetadataInput } from './event-codec';
import type { FleetEventDataMap, FleetEventType } from './events';
import type { JobArgsByKind, JobKind } from './job-args';

/** Valid sample data for every catalog type; specs mutate copies of these to build invalid cases. */

export const T0 = '2024-05-01T12:00:00Z';
export const T1 = '2024-05-01T12:00:05.123456789+02:00';
export const HOST = 'host-7a1';
export const JOB = '0f8fad5b-d9cb-469f-a165-70867728950e';
export const ENVELOPE_ID = '6f9619ff-8b86-4011-b42d-00c04fc964ff';
export const ALERT = '5b7e0c9a-3d2f-5a1b-8c4d-6e7f8a9b0c1d';
export const CHANNEL = 'ch-ops-mail';
export const REPO = 'repo-offsite';
export const REPO_2 = 'repo-local';

const secret = {
  alg: 'aes-256-gcm',
  key_id: 'k1',
  iv: 'AAAAAAAAAAAAAAAA',
  tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
  ciphertext: 'c2VjcmV0',
} as const;
export const SNAPSHOT = {
  id: 'a'.repeat(64),
  short_id: 'aaaaaaaa',
  time: '2024-05-01T12:00:00.518462Z',
  hostname: 'web-1',
  paths: ['/srv/data'],
  tags: ['daily'],
  size_bytes: 1024,
  file_count: 3,
  parent: 'b'.repeat(64),
};
export const SCHEDULES = [
  {
    id: 's-backup',
    kind: 'backup',
    cron: '0 2 * * *',
    enabled: true,
    paths: ['/srv'],
    excludes: ['*.tmp'],
    tags: ['nightly'],
    pre_hook: 'sync',
    hook_timeout_s: 60,
  },
  {
    id: 's-forget',
    kind: 'forget',
    cron: '@daily',
    enabled: false,
    retention: { keep_daily: 7, keep_within: '1y2m' },
    options: { prune: true },
  },
  { id: 's-check', kind: 'check', cron: '0 0 3 * * 0', enabled: true, options: { read_data_subset: '10%' } },
] as const;

export const SAMPLE_ARGS: { [K in JobKind]: JobArgsByKind[K] } = {
  backup: {
    paths: ['/srv/data', 'relative/dir'],
    excludes: ['*.tmp'],
    tags: ['nightly'],
    one_file_system: true,
    exclude_caches: true,
    limit_upload_kib: 1024,
    limit_download_kib: 2048,
  },
  init: {},
  forget: {
    policy: {
      keep_last: 3,
      keep_hourly: 24,
      keep_daily: 7,
      keep_weekly: 4,
      keep_monthly: 12,
      keep_yearly: 2,
      keep_within: '1y2m',
      keep_tags: ['keep'],
    },
    tags: ['nightly'],
    group_by: ['host', 'paths'],
    prune: true,
  },
  prune: { max_unused: '5%' },
  check: { read_data_subset: '1/5' },
  unlock: {},
  restore: { snapshot_id: 'latest', target: '/tmp/restore', include: ['/srv/data/a'], exclude: ['*.log'] },
  snapshots: {},
  stats: { mode: 'raw-data' },
  copy: { to_repository_id: REPO_2, snapshots: ['aaaaaaaa', 'latest'] },
};

export const REPOSITORY_SCHEDULES = [
  {
    id: 'r-forget',
    kind: 'forget',
    cron: '30 3 * * *',
    enabled: true,
    retention: { keep_daily: 7, keep_weekly: 4 },
    options: { group_by: ['host', 'paths'], prune: true },
  },
  { id: 'r-check', kind: 'check', cron: '0 4 * * 0', enabled: true, options: { read_data_subset: '5%' } },
  { id: 'r-copy', kind: 'copy', cron: '0 5 * * *', enabled: false, to_repository_id: REPO_2 },
] as const;

export const SAMPLE_EVENTS: { [K in FleetEventType]: FleetEventDataMap[K] } = {
  HostEnrolled: {
    host_id: HOST,
    hostname: 'web-1',
    os: 'linux',
    arch: 'amd64',
    agent_secret_hash: '$argon2id$v=19$x',
    enrolment_token_id: 'et1',
    enrolled_at: T0,
  },
  AgentConnected: {
    host_id: HOST,
    protocol_version: 1,
    agent_version: '0.1.0',
    restic_version: '0.14.0',
    hostname: 'web-1',
    os: 'linux',
    arch: 'arm64',
    boot_time: T0,
    connected_at: T1,
    capabilities: ['repositories'],
    allow_hooks: false,
  },
  AgentDisconnected: { host_id: HOST, reason: 'heartbeat_timeout', disconnected_at: T0 },
  RepositoryConfigured: {
    host_id: HOST,
    url: 'rest:https://backup.example:8000/web-1',
    username: 'web-1',
    password: secret,
    credential: secret,
  },
  HostRevoked: { host_id: HOST, reason: 'decommissioned', revoked_at: T0 },
  AgentUpdateRequested: { host_id: HOST, version: '0.2.0', sha256: 'a'.repeat(64), requested_at: T0 },
  RepoStatsReported: {
    host_id: HOST,
    job_id: JOB,
    total_size_bytes: 10,
    raw_size_bytes: 5,
    snapshot_count: 2,
    repository_id: REPO,
    file_count: 9,
    compression_ratio: 2.5,
    last_check_at: T0,
    last_check_status: 'ok',
    reported_at: T0,
  },
  RepositoryRegistered: {
    repository_id: REPO,
    name: 'offsite',
    url: 'rest:https://backup.example:8000/fleet',
  },
  RepositoryChanged: { repository_id: REPO, name: 'offsite-2', url: 's3:https://s3.example/fleet' },
  RepositorySecretsSet: { repository_id: REPO, password: secret, username: 'fleet', credential: secret },
  RepositoryAttached: { repository_id: REPO, host_id: HOST },
  RepositoryDetached: { repository_id: REPO, host_id: HOST },
  RepositoryRemoved: { repository_id: REPO, reason: 'moved to tape' },
  RepositorySchedulesChanged: {
    repository_id: REPO,
    version: 2,
    schedules:
      REPOSITORY_SCHEDULES as unknown as FleetEventDataMap['RepositorySchedulesChanged']['schedules'],
  },
  SnapshotDownloaded: {
    repository_id: REPO,
    snapshot_id: 'c311bf884fe50155edc7b32e291a6e3f2d49c7ece1744f3e62087aa9bfd893e3',
    path: '/srv/data/report.pdf',
    format: 'file',
    host_id: HOST,
    size: 52_431,
  },
  JobRequested: {
    job_id: JOB,
    host_id: HOST,
    kind: 'backup',
    args: SAMPLE_ARGS.backup,
    schedule_id: 's-backup',
    repository_id: REPO,
    requested_at: T0,
  },
  JobDispatched: { job_id: JOB, host_id: HOST, dispatched_at: T0 },
  JobAccepted: { job_id: JOB, accepted_at: T0 },
  JobRejected: { job_id: JOB, error: 'busy', rejected_at: T0 },
  JobStarted: { job_id: JOB, kind: 'backup', started_at: T0, restic_version: '0.14.0' },
  JobCancelRequested: { job_id: JOB, requested_at: T0 },
  JobFinished: {
    job_id: JOB,
    status: 'warning',
    exit_code: 3,
    finished_at: T0,
    stats: { files_new: 1, snapshot_id: 'aaaaaaaa' },
    error: 'at least one source file could not be read',
    error_code: 'partial_read',
    log_lines: 10,
    dropped_log_lines: 0,
  },
  JobLost: { job_id: JOB, host_id: HOST, reason: 'agent restarted while running', lost_at: T0 },
  JobProgress: {
    job_id: JOB,
    percent_done: 0.5,
    files_done: 1,
    total_files: 2,
    bytes_done: 10,
    total_bytes: 20,
    eta_seconds: 3,
    throughput_bps: 1.5,
    ts: T0,
  },
  LogStreamLine: {
    job_id: JOB,
    seq: 0,
    ts: T0,
    stream: 'stderr',
    payload: 'Warning: at least one source file could not be read',
  },
  LogLinesDropped: { job_id: JOB, from_seq: 10, to_seq: 19, count: 10 },
  SchedulesChanged: {
    host_id: HOST,
    version: 3,
    schedules: SCHEDULES as unknown as FleetEventDataMap['SchedulesChanged']['schedules'],
  },
  SchedulesApplied: { host_id: HOST, version: 3, applied_at: T0 },
  ScheduleFired: { host_id: HOST, schedule_id: 's-backup', scheduled_at: T0, job_id: JOB },
  SnapshotsReported: {
    host_id: HOST,
    job_id: JOB,
    repository_id: REPO,
    snapshots: [SNAPSHOT],
    reported_at: T0,
  },
  UserCreated: { user_id: 'u1', username: 'alice', role: 'admin', password_hash: '$argon2id$v=19$x' },
  UserPasswordChanged: { user_id: 'u1', password_hash: '$argon2id$v=19$y', changed_at: T0 },
  UserRoleChanged: { user_id: 'u1', role: 'viewer', changed_at: T0 },
  UserDisabled: { user_id: 'u1', reason: 'left', disabled_at: T0 },
  UserEnabled: { user_id: 'u1', enabled_at: T0 },
  UserLoggedIn: { user_id: 'u1', at: T0 },
  UserLoggedOut: { user_id: 'u1', session_id_hash: 'ab'.repeat(32), at: T0 },
  UserLoginFailed: { username: 'mallory', reason: 'bad_password', at: T0 },
  ApiTokenCreated: {
    token_id: 't1',
    name: 'ci',
    role: 'operator',
    token_hash: 'sha256:abc',
    created_by: 'u1',
    expires_at: T0,
  },
  ApiTokenRevoked: { token_id: 't1', reason: 'leaked', revoked_at: T0 },
  EnrolmentTokenCreated: { token_id: 'et1', token_hash: 'sha256:def', expires_at: T0, created_by: 'u1' },
  EnrolmentTokenUsed: { token_id: 'et1', host_id: HOST, used_at: T0 },
  EnrolmentTokenRevoked: { token_id: 'et1', revoked_at: T0 },
  AlertRaised: {
    alert_id: ALERT,
    rule: 'job_failed',
    severity: 'error',
    subject: `host:${HOST}/kind:backup`,
    host_id: HOST,
    hostname: 'web-1',
    job_id: JOB,
    schedule_id: 's-backup',
    summary: 'backup job failed on web-1: wrong password',
    details: { kind: 'backup', status: 'failed', error_code: 'wrong_password' },
    raised_at: T0,
  },
  AlertAcknowledged: { alert_id: ALERT, by: 'u1', note: 'looking into it', acknowledged_at: T0 },
  AlertResolved: { alert_id: ALERT, reason: 'a later backup job succeeded', resolved_at: T1 },
  AlertRulesChanged: {
    rules: {
      agent_offline: { threshold_s: 600, severity: 'error' },
      log_lines_dropped: { enabled: false },
    },
    host_overrides: { [HOST]: { backup_overdue: { threshold_s: 7200 }, agent_offline: { enabled: false } } },
    changed_at: T0,
  },
  ChannelConfigured: {
    channel_id: CHANNEL,
    kind: 'email',
    name: 'ops mail',
    settings: {
      host: 'smtp.example.com',
      port: 587,
      security: 'starttls',
      username: 'rf',
      password: secret,
      from: 'fleet@example.com',
      to: ['ops@example.com', 'oncall@example.com'],
    },
    routing: {
      min_severity: 'warning',
      rules: ['job_failed', 'agent_offline'],
      hosts: [HOST],
      reminder_hours: 12,
    },
    configured_at: T0,
  },
  ChannelRemoved: { channel_id: CHANNEL, removed_at: T0 },
  NotificationSent: {
    channel_id: CHANNEL,
    transition: 'reminder',
    delivery_id: '9a1c1bd3-6a4c-5d8e-9f6b-2b1a3c4d5e6f',
    alert_id: ALERT,
    reminder: 2,
    attempt: 1,
    sent_at: T0,
  },
  NotificationFailed: {
    channel_id: CHANNEL,
    transition: 'raised',
    delivery_id: '9a1c1bd3-6a4c-5d8e-9f6b-2b1a3c4d5e70',
    alert_id: ALERT,
    attempt: 2,
    error: 'connection refused by 127.0.0.1:9 — is the receiver running?',
    failed_at: T0,
    retry_at: T1,
  },
};

export const SAMPLE_METADATA: EventMetadataInput = {
  actor: { kind: 'user', id: 'u1', name: 'alice' },
  correlation_id: 'req-1',
  causation_id: 'req-1',
  received_at: T0,
};

/** A deep copy, so a spec can break one field without touching the shared sample. */
export const clone = <T>(v: T): T => structuredClone(v);
