import type { JobStatus } from '@rf/events';

/**
 * What the live tail sends to a browser over `/api/jobs/{id}/stream`
 * (docs/architecture.md, "Live tail"). Every message is one JSON text frame.
 */
export interface LiveLogMessage {
  readonly type: 'log';
  readonly seq: number;
  readonly ts: string;
  readonly stream: string;
  readonly payload: string;
}

export interface LiveProgressMessage {
  readonly type: 'progress';
  readonly percent_done: number;
  readonly files_done: number;
  readonly total_files: number;
  readonly bytes_done: number;
  readonly total_bytes: number;
  readonly eta_seconds: number | null;
  readonly throughput_bps: number;
  readonly ts: string;
}

export interface LiveStatusMessage {
  readonly type: 'status';
  readonly status: JobStatus;
  readonly cancel_requested: boolean;
  readonly exit_code: number | null;
  readonly error: string | null;
  readonly error_code: string | null;
  readonly stats: Record<string, unknown> | null;
  readonly finished_at: string | null;
}

/**
 * Lines `from_seq..to_seq` (inclusive) were not sent on this socket.
 * `reason: 'slow_consumer'` — they are persisted; fetch them from
 * `/api/jobs/{id}/logs`. `reason: 'agent'` — the agent itself dropped them.
 */
export interface LiveDroppedMessage {
  readonly type: 'dropped';
  readonly from_seq: number;
  readonly to_seq: number;
  readonly reason: 'slow_consumer' | 'agent';
}

export interface LiveEndMessage {
  readonly type: 'end';
  readonly status: JobStatus;
}

export type LiveMessage =
  LiveLogMessage | LiveProgressMessage | LiveStatusMessage | LiveDroppedMessage | LiveEndMessage;
