import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppConfig, ConfigError, defaultNodeId } from './app-config';

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

describe('AppConfig: node id and lease', () => {
  it('defaults to the hostname and a digest of the data directory: stable per directory, distinct across them', () => {
    const one = AppConfig.fromEnv({ RF_DATA_DIR: '/srv/rf/node-1' }).nodeId;
    assert.equal(AppConfig.fromEnv({ RF_DATA_DIR: '/srv/rf/node-1' }).nodeId, one);
    assert.notEqual(AppConfig.fromEnv({ RF_DATA_DIR: '/srv/rf/node-2' }).nodeId, one);
    assert.match(one, /^[A-Za-z0-9._-]{1,64}$/);
    assert.equal(defaultNodeId('web 01/eu', '/d'), `web-01-eu-${defaultNodeId('x', '/d').slice(2)}`);
  });

  it('takes RF_NODE_ID and RF_NODE_LEASE_S, and names a bad value', () => {
    const cfg = AppConfig.fromEnv({ RF_DATA_DIR: '/d', RF_NODE_ID: 'cp-a', RF_NODE_LEASE_S: '12' });
    assert.deepEqual([cfg.nodeId, cfg.nodeLeaseS], ['cp-a', 12]);
    assert.equal(AppConfig.fromEnv({ RF_DATA_DIR: '/d' }).nodeLeaseS, 30);
    for (const [name, value] of [
      ['RF_NODE_ID', 'a b'],
      ['RF_NODE_LEASE_S', '1'],
    ] as const) {
      assert.throws(
        () => AppConfig.fromEnv({ RF_DATA_DIR: '/d', [name]: value }),
        (e: unknown) => e instanceof ConfigError && e.variable === name,
      );
    }
  });
});
