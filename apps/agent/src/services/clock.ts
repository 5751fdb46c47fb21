/** Time and timers, injected so the scheduler can be driven by a fake clock in tests. */
export interface Clock {
  now(): Date;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** Longest delay setTimeout accepts; longer waits are re-armed in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => new Date(),
  setTimer: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};
