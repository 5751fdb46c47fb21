/**
 * Capped exponential backoff (docs/alerts.md, "Delivery"): the n-th failed
 * attempt waits base × 2^(n-1), at most `capMs`, and a delivery is given up
 * once its next attempt would start more than `giveUpAfterMs` after its first.
 */
export interface RetryPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  readonly giveUpAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseMs: 30_000,
  capMs: 60 * 60_000,
  giveUpAfterMs: 24 * 60 * 60_000,
};

/** When attempt `attempt + 1` is due after attempt `attempt` failed at `now`; undefined to give up. */
export function nextAttemptAt(
  policy: RetryPolicy,
  firstAttemptAt: number,
  attempt: number,
  now: number,
): number | undefined {
  const delay = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  const at = now + delay;
  return at - firstAttemptAt > policy.giveUpAfterMs ? undefined : at;
}
