import { isTerminal } from '@rf/events';
import { eventually } from './fleet';
import type { RestClient } from './rest-client';

export interface JobOutcome {
  readonly status: string;
  readonly error: string | null;
}

/** Polls `GET /api/jobs/{id}` until the job reached a terminal status of the one job lifecycle. */
export function jobFinished(
  admin: RestClient,
  jobId: string,
  timeoutMs: number,
  pollMs = 250,
): Promise<JobOutcome> {
  return eventually(
    `job ${jobId} to finish`,
    async () => {
      const j = await admin.get<JobOutcome>(`/api/jobs/${jobId}`);
      return isTerminal(j.body.status) ? j.body : undefined;
    },
    timeoutMs,
    pollMs,
  );
}

/** Requests a job of a host and waits for it; throws unless it succeeded. */
export async function runHostJob(
  admin: RestClient,
  hostId: string,
  body: Record<string, unknown>,
  timeoutMs: number,
  pollMs = 250,
): Promise<void> {
  const r = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, body);
  const done = await jobFinished(admin, r.body.job_id, timeoutMs, pollMs);
  if (done.status !== 'succeeded') throw new Error(`${String(body['kind'])}: ${done.status} ${done.error}`);
}

/** The id of the first snapshot the host lists, once it lists one. */
export function firstSnapshotOf(admin: RestClient, hostId: string, timeoutMs = 60_000): Promise<string> {
  return eventually(
    'the snapshot listed',
    async () =>
      (await admin.get<{ snapshots: Array<{ id: string }> }>(`/api/hosts/${hostId}/snapshots`)).body
        .snapshots[0]?.id,
    timeoutMs,
  );
}
