import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveSettings, LiveSettingsError } from './live.settings';

describe('LiveSettings.fromEnv', () => {
  it('defaults to a 64-message queue, 64 KiB of unsent socket bytes and a 30 s ping', () => {
    const s = LiveSettings.fromEnv({});
    assert.deepEqual([s.queueSize, s.maxBufferedBytes, s.pingIntervalMs], [64, 65_536, 30_000]);
  });

  it('reads the variables', () => {
    const s = LiveSettings.fromEnv({
      RF_LIVE_QUEUE_SIZE: '256',
      RF_LIVE_MAX_BUFFERED_BYTES: '4096',
      RF_LIVE_PING_S: '5',
    });
    assert.deepEqual([s.queueSize, s.maxBufferedBytes, s.pingIntervalMs], [256, 4096, 5000]);
  });

  it('names the variable in the error for bad values', () => {
    assert.throws(
      () => LiveSettings.fromEnv({ RF_LIVE_QUEUE_SIZE: 'lots' }),
      (err: unknown) =>
        err instanceof LiveSettingsError &&
        err.field === 'RF_LIVE_QUEUE_SIZE' &&
        /whole number/.test(err.message),
    );
    assert.throws(
      () => LiveSettings.fromEnv({ RF_LIVE_MAX_BUFFERED_BYTES: '10' }),
      (err: unknown) => err instanceof LiveSettingsError && err.field === 'RF_LIVE_MAX_BUFFERED_BYTES',
    );
  });
});
