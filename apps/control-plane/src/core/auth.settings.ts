/**
 * Tunables of authentication. Defaults suit production; tests pass overrides
 * through `AuthModule.forRoot({...})` (shorter expiries, an injected clock).
 */
export class AuthSettings {
  /** A session ends after this long without a request. */
  sessionIdleMs = 2 * 60 * 60 * 1000;
  /** A session ends this long after login, however active. */
  sessionAbsoluteMs = 24 * 60 * 60 * 1000;
  /** last_seen_at is written at most this often per session. */
  sessionTouchIntervalMs = 60 * 1000;
  loginFailuresPerUser = 5;
  loginFailuresPerIp = 10;
  enrolFailuresPerIp = 10;
  rateWindowMs = 60 * 1000;
  enrolmentTokenDefaultMinutes = 60;
  now: () => number = Date.now;
  /** Where the bootstrap admin's one-time password goes: stdout, never the JSON log. */
  writeBanner: (text: string) => void = (text) => {
    process.stdout.write(text);
  };

  static with(overrides: Partial<AuthSettings> = {}): AuthSettings {
    return Object.assign(new AuthSettings(), overrides);
  }
}
