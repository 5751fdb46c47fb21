import type { HealthchecksSettings } from '../channel-config';
import type { JobPing } from '../notice';
import { clip, type OutboundRequest, withPath } from './outbound-request';

/**
 * Healthchecks ping: `<url>/start` when the scheduled job starts, `<url>` when
 * it succeeds, `<url>/fail` when it fails, `<url>/log` for a test (it changes
 * no state); the body goes to the check's log.
 * The check itself notices a missing success, even with the control plane down.
 */
export function healthchecksRequest(s: HealthchecksSettings, p: JobPing): OutboundRequest {
  const url = p.transition === 'success' ? s.url : withPath(s.url, p.transition);
  return {
    url,
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: clip(`restic-fleet job ${p.jobId}: ${p.detail}`, 10_000),
  };
}
