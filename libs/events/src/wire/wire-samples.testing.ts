import {
  ENVELOPE_ID,
  JOB,
  REPO,
  REPO_2,
  SAMPLE_ARGS,
  SAMPLE_EVENTS,
  SCHEDULES,
  SNAPSHOT,
  T0,
} from '../catalog/catalog-samples.testing';
import type { WirePayloadMap, WireType } from './wire-messages';

/** A valid payload for every wire message type; specs break copies of these. */
export const SAMPLE_PAYLOADS: { [K in WireType]: WirePayloadMap[K] } = {
  hello: {
    protocol_version: 1,
    agent_version: '0.1.0',
    restic_version: '0.14.0',
    hostname: 'web-1',
    os: 'linux',
    arch: 'amd64',
    boot_time: T0,
    capabilities: ['repositories'],
    allow_hooks: false,
  },
  heartbeat: { sent_at: T0 },
  'config.update': {
    repo_url: 'rest:https://backup.example:8000/web-1',
    repo_password: 'hunter2',
    repo_username: 'web-1',
    repo_credential: 'basic-secret',
    repository_id: REPO,
    repositories: [
      {
        repository_id: REPO,
        url: 'rest:https://backup.example:8000/web-1',
        password: 'hunter2',
        username: 'web-1',
        credential: 'basic-secret',
      },
      { repository_id: REPO_2, url: '/srv/restic/local', password: 'second-secret' },
    ],
  },
  'schedule.set': {
    version: 3,
    schedules: SCHEDULES as unknown as WirePayloadMap['schedule.set']['schedules'],
  },
  'schedule.ack': { version: 3, applied_at: T0 },
  'schedule.fire': { schedule_id: 's-backup', scheduled_at: T0 },
  'command.run': { job_id: JOB, kind: 'backup', args: SAMPLE_ARGS.backup, repository_id: REPO },
  'command.cancel': { job_id: JOB },
  'command.result': { job_id: JOB, accepted: false, error: 'another job is running' },
  'job.started': SAMPLE_EVENTS.JobStarted,
  'job.progress': {
    job_id: JOB,
    percent_done: 0.25,
    files_done: 1,
    total_files: 4,
    bytes_done: 100,
    total_bytes: 400,
    eta_seconds: 12,
    throughput_bps: 1e6,
  },
  'job.finished': SAMPLE_EVENTS.JobFinished,
  'log.stream': SAMPLE_EVENTS.LogStreamLine,
  'log.dropped': SAMPLE_EVENTS.LogLinesDropped,
  'snapshots.report': { job_id: JOB, snapshots: [SNAPSHOT] },
  'repo.stats': {
    job_id: JOB,
    total_size_bytes: 10,
    raw_size_bytes: 5,
    snapshot_count: 2,
    file_count: 9,
    compression_ratio: 2.5,
    last_check_at: T0,
    last_check_status: 'ok',
  },
  'agent.update_available': {
    version: '0.2.0',
    sha256: 'a'.repeat(64),
    url: 'https://fleet.example/agent/restic-fleet-agent.js',
  },
  'query.start': {
    query_id: ENVELOPE_ID,
    kind: 'ls',
    repository_id: REPO,
    snapshot: 'c311bf884fe50155edc7b32e291a6e3f2d49c7ece1744f3e62087aa9bfd893e3',
    path: '/srv/data',
    max_bytes: 64 * 1024 * 1024,
    upload_token: 'q'.repeat(43),
  },
  'query.cancel': { query_id: ENVELOPE_ID },
  'query.end': { query_id: ENVELOPE_ID, bytes: 5120, exit_code: 0, restic_version: '0.14.0' },
  'query.error': { query_id: ENVELOPE_ID, code: 'failed', message: 'Fatal: no matching ID found' },
  ack: { ids: [ENVELOPE_ID] },
  error: {
    code: 'invalid_payload',
    message: 'payload.seq must be a non-negative integer',
    ref_id: ENVELOPE_ID,
    field: 'payload.seq',
  },
};

/** A raw envelope object around a payload (no validation), for building malformed inputs. */
export function rawEnvelope(
  type: string,
  payload: unknown,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { v: 1, id: ENVELOPE_ID, type, ts: T0, payload, ...extra };
}
