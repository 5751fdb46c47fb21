/** Where a request to stop can come from: `process` in production, an emitter in tests. */
export interface StopSource {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** True when the agent was started with an IPC channel (node-windows' wrapper forks it). */
  readonly connected?: boolean;
}

/**
 * Calls `stop(reason)` once, on whichever comes first: SIGTERM (systemd),
 * SIGINT (Ctrl+C), SIGBREAK (Ctrl+Break on Windows), the `shutdown` message
 * node-windows' wrapper sends when the Windows service stops, or the wrapper
 * going away (its IPC channel closes), so the agent never outlives its service.
 */
export function onStopRequest(
  source: StopSource,
  stop: (reason: string) => void,
  platform: NodeJS.Platform = process.platform,
): void {
  let requested = false;
  const once = (reason: string): void => {
    if (requested) return;
    requested = true;
    stop(reason);
  };
  source.on('SIGTERM', () => once('SIGTERM'));
  source.on('SIGINT', () => once('SIGINT'));
  if (platform === 'win32') source.on('SIGBREAK', () => once('SIGBREAK'));
  if (source.connected) {
    source.on('message', (m: unknown) => {
      if (m === 'shutdown') once('service stop (shutdown message)');
    });
    source.on('disconnect', () => once('service wrapper went away'));
  }
}
