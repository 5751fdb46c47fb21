/** Thrown at boot for a bad live-tail variable; names the variable. */
export class LiveSettingsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = 'LiveSettingsError';
  }
}

/** A whole-number setting within [min, max]; `fallback` when unset. Throws LiveSettingsError naming the variable. */
export function readIntSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()))
    throw new LiveSettingsError(name, `must be a whole number, got ${JSON.stringify(raw)}`);
  const v = Number(raw.trim());
  if (v < min || v > max) throw new LiveSettingsError(name, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

/**
 * Tunables of the live tail (docs/architecture.md, "Live tail"), validated once at boot:
 * `RF_LIVE_QUEUE_SIZE` (messages per subscriber, default 64),
 * `RF_LIVE_MAX_BUFFERED_BYTES` (a socket's unsent bytes before its queue fills, default 64 KiB),
 * `RF_LIVE_PING_S` (keep-alive ping to browsers, default 30 s).
 */
export class LiveSettings {
  constructor(
    readonly queueSize = 64,
    readonly maxBufferedBytes = 64 * 1024,
    readonly pingIntervalMs = 30_000,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv): LiveSettings {
    return new LiveSettings(
      readIntSetting(env, 'RF_LIVE_QUEUE_SIZE', 64, 1, 1_000_000),
      readIntSetting(env, 'RF_LIVE_MAX_BUFFERED_BYTES', 64 * 1024, 1024, 1 << 30),
      readIntSetting(env, 'RF_LIVE_PING_S', 30, 1, 3600) * 1000,
    );
  }
}
