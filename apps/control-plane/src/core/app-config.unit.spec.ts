import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppConfig, ConfigError } from './app-config';

describe('AppConfig: RF_TRUSTED_PROXIES', () => {
  const env = (v?: string) => ({
    RF_DATA_DIR: '/tmp/rf-config-unit',
    ...(v === undefined ? {} : { RF_TRUSTED_PROXIES: v }),
  });

  it('trusts no proxy by default', () => {
    assert.deepEqual(AppConfig.fromEnv(env()).trustedProxies, []);
    assert.deepEqual(AppConfig.fromEnv(env('  ')).trustedProxies, []);
  });

  it('takes addresses, subnets and the Express names, separated by commas or spaces', () => {
    assert.deepEqual(AppConfig.fromEnv(env('10.0.0.5, 172.16.0.0/12 loopback,fd00::/8,::1')).trustedProxies, [
      '10.0.0.5',
      '172.16.0.0/12',
      'loopback',
      'fd00::/8',
      '::1',
    ]);
  });

  it('names a bad entry, and refuses to trust every address', () => {
    for (const [raw, why] of [
      ['proxy.example.com', /"proxy\.example\.com" is not an IP address/],
      ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not/],
      ['true', /"true" is not/],
      ['0.0.0.0/0', /would trust every address/],
    ] as const) {
      assert.throws(
        () => AppConfig.fromEnv(env(raw)),
        (e: unknown) =>
          e instanceof ConfigError && e.variable === 'RF_TRUSTED_PROXIES' && why.test(e.message),
        raw,
      );
    }
  });
});
