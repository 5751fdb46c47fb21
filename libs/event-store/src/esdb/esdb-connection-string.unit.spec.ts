import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventStoreDBClient } from '@eventstore/db-client';
import {
  EsdbConnectionStringError,
  isEsdbConnectionString,
  parseEsdbConnectionString,
  redactEsdbConnectionString,
} from './esdb-connection-string';

const rejects = (input: string, fragment: RegExp): void => {
  assert.throws(
    () => parseEsdbConnectionString(input, 'RF_EVENTSTORE'),
    (err: unknown) =>
      err instanceof EsdbConnectionStringError &&
      err.message.startsWith('RF_EVENTSTORE: ') &&
      fragment.test(err.message),
  );
};

describe('parseEsdbConnectionString', () => {
  it('parses a single insecure node with the default port', () => {
    const p = parseEsdbConnectionString('esdb://eventstore?tls=false');
    assert.equal(p.clientConnectionString, 'esdb://eventstore:2113?tls=false');
    assert.deepEqual(p.hosts, [{ address: 'eventstore', port: 2113 }]);
    assert.equal(p.tls, false);
    assert.equal(p.discover, false);
    assert.equal(p.hasCredentials, false);
  });

  it('rewrites kurrentdb:// and kurrentdb+discover:// to the schemes the v6 client understands', () => {
    assert.equal(
      parseEsdbConnectionString('kurrentdb://db:2113?tls=false').clientConnectionString,
      'esdb://db:2113?tls=false',
    );
    const d = parseEsdbConnectionString('kurrentdb+discover://cluster.example.com:2113');
    assert.equal(d.clientConnectionString, 'esdb+discover://cluster.example.com:2113');
    assert.equal(d.discover, true);
    assert.equal(d.tls, true);
  });

  it('keeps several gossip seeds and options in order', () => {
    const p = parseEsdbConnectionString(
      'esdb://a:2111,b:2112,c?nodePreference=leader&keepAliveInterval=5000',
    );
    assert.deepEqual(
      p.hosts.map((h) => `${h.address}:${h.port}`),
      ['a:2111', 'b:2112', 'c:2113'],
    );
    assert.equal(
      p.clientConnectionString,
      'esdb://a:2111,b:2112,c:2113?nodePreference=leader&keepAliveInterval=5000',
    );
  });

  it('keeps credentials for the client but redacts them for logs', () => {
    const p = parseEsdbConnectionString('esdb://admin:changeit@db:2113?tls=true');
    assert.equal(p.clientConnectionString, 'esdb://admin:changeit@db:2113?tls=true');
    assert.equal(p.redacted, 'esdb://***@db:2113?tls=true');
    assert.equal(p.hasCredentials, true);
  });

  it('produces strings the real client accepts', () => {
    for (const input of [
      'esdb://localhost:2113?tls=false',
      'kurrentdb://admin:changeit@a,b:2114?tls=false&defaultDeadline=3000',
    ]) {
      const client = EventStoreDBClient.connectionString(
        parseEsdbConnectionString(input).clientConnectionString,
      );
      assert.ok(client instanceof EventStoreDBClient);
      void client.dispose();
    }
  });

  it('rejects bad input with a message naming the field and never the password', () => {
    rejects('http://db:2113', /unsupported scheme "http"/);
    rejects('db:2113', /missing scheme/);
    rejects('esdb://', /no host/);
    rejects('esdb://db:notaport', /invalid port "notaport"/);
    rejects('esdb://db:70000', /invalid port "70000"/);
    rejects('esdb://db?tls=maybe', /tls must be true or false/);
    rejects('esdb://db?frobnicate=1', /unknown option "frobnicate"/);
    rejects('esdb://db?nodePreference=fastest', /nodePreference must be one of/);
    rejects('esdb://db?tlsVerifyCert=false', /tlsVerifyCert=false is not supported/);
    rejects('esdb://db?throwOnAppendFailure=false', /throwOnAppendFailure=false is not supported/);
    rejects('esdb://admin@db', /credentials must be user:password/);
    assert.throws(
      () => parseEsdbConnectionString('esdb://admin:s3cr3t@db?bogus=1', 'RF_EVENTSTORE'),
      (err: unknown) =>
        err instanceof Error && !err.message.includes('s3cr3t') && err.message.includes('***@db'),
    );
    assert.throws(
      () => parseEsdbConnectionString('esdb://admin:p:w@db', 'RF_EVENTSTORE'),
      (err: unknown) =>
        err instanceof Error && /URL-encoded/.test(err.message) && !err.message.includes('p:w'),
    );
  });
});

describe('isEsdbConnectionString / redactEsdbConnectionString', () => {
  it('recognises the ESDB and KurrentDB schemes only', () => {
    assert.equal(isEsdbConnectionString('esdb://x'), true);
    assert.equal(isEsdbConnectionString('ESDB+discover://x'), true);
    assert.equal(isEsdbConnectionString('kurrentdb://x'), true);
    assert.equal(isEsdbConnectionString('sqlite:///tmp/x.db'), false);
    assert.equal(isEsdbConnectionString('sqlite'), false);
  });

  it('redacts user and password, even when the password contains an @', () => {
    assert.equal(redactEsdbConnectionString('esdb://u:p@ss@h:1?tls=false'), 'esdb://***@h:1?tls=false');
    assert.equal(redactEsdbConnectionString('esdb://h:1'), 'esdb://h:1');
  });
});
