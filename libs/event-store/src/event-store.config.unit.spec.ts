import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  EventStoreConfigError,
  describeEventStoreConfig,
  parseEventStoreConfig,
  type EventStoreConfig,
} from './event-store.config';

const cwd = path.resolve('/srv/rf');
const parse = (env: Record<string, string | undefined>): EventStoreConfig => parseEventStoreConfig(env, cwd);

const rejects = (value: string, fragment: RegExp, secret?: string): void => {
  assert.throws(
    () => parse({ RF_EVENTSTORE: value }),
    (err: unknown) => {
      assert.ok(err instanceof EventStoreConfigError, String(err));
      assert.equal(err.variable, 'RF_EVENTSTORE');
      assert.match(err.message, /^RF_EVENTSTORE: /);
      assert.match(err.message, fragment);
      if (secret) assert.ok(!err.message.includes(secret), 'the password is not in the message');
      return true;
    },
  );
};

describe('parseEventStoreConfig', () => {
  it('defaults to the embedded SQLite store under ./data', () => {
    assert.deepEqual(parse({}), { kind: 'sqlite', path: path.join(cwd, 'data', 'events.db') });
    assert.deepEqual(parse({ RF_EVENTSTORE: '' }), parse({}));
    assert.deepEqual(parse({ RF_EVENTSTORE: '  sqlite ' }), parse({}));
    assert.deepEqual(parse({ RF_EVENTSTORE: 'SQLite' }), parse({}));
  });

  it('puts the SQLite file in RF_DATA_DIR, relative to the working directory or absolute', () => {
    assert.deepEqual(parse({ RF_DATA_DIR: 'state' }), {
      kind: 'sqlite',
      path: path.join(cwd, 'state', 'events.db'),
    });
    assert.deepEqual(parse({ RF_DATA_DIR: '/var/lib/rf', RF_EVENTSTORE: 'sqlite' }), {
      kind: 'sqlite',
      path: path.resolve('/var/lib/rf/events.db'),
    });
  });

  it('accepts sqlite:///absolute/path and sqlite:/absolute/path, ignoring RF_DATA_DIR', () => {
    const expected = { kind: 'sqlite', path: path.normalize('/var/lib/restic-fleet/events.db') };
    assert.deepEqual(
      parse({ RF_EVENTSTORE: 'sqlite:///var/lib/restic-fleet/events.db', RF_DATA_DIR: '/x' }),
      expected,
    );
    assert.deepEqual(parse({ RF_EVENTSTORE: 'sqlite:/var/lib/restic-fleet/events.db' }), expected);
    assert.deepEqual(parse({ RF_EVENTSTORE: 'sqlite:///tmp/with%20space.db' }), {
      kind: 'sqlite',
      path: path.normalize('/tmp/with space.db'),
    });
  });

  it('selects EventStoreDB for esdb://, esdb+discover:// and kurrentdb:// and redacts credentials', () => {
    assert.deepEqual(parse({ RF_EVENTSTORE: 'esdb://eventstore:2113?tls=false' }), {
      kind: 'esdb',
      connectionString: 'esdb://eventstore:2113?tls=false',
      redacted: 'esdb://eventstore:2113?tls=false',
    });
    const kurrent = parse({ RF_EVENTSTORE: 'kurrentdb://admin:changeit@db1,db2?tls=false' });
    assert.deepEqual(kurrent, {
      kind: 'esdb',
      connectionString: 'esdb://admin:changeit@db1:2113,db2:2113?tls=false',
      redacted: 'esdb://***@db1:2113,db2:2113?tls=false',
    });
    assert.equal(describeEventStoreConfig(kurrent), 'esdb (esdb://***@db1:2113,db2:2113?tls=false)');
    assert.equal(parse({ RF_EVENTSTORE: 'esdb+discover://cluster.local' }).kind, 'esdb');
  });

  it('fails fast on anything else, naming RF_EVENTSTORE and the accepted forms', () => {
    rejects(
      'postgres://db/rf',
      /unsupported value "postgres:\/\/db\/rf"; accepted: unset or "sqlite".*sqlite:\/\/\/.*esdb:\/\//,
    );
    rejects('memory', /unsupported value "memory"/);
    rejects('sqlite:relative/events.db', /needs an absolute file path/);
    rejects('sqlite://', /needs an absolute file path/);
    rejects('sqlite:///tmp/x.db?mode=ro', /needs an absolute file path/);
    rejects('esdb://db?tls=perhaps', /tls must be true or false/);
    rejects('esdb://admin:hunter2@db?colour=blue', /unknown option "colour"/, 'hunter2');
    rejects('redis://user:hunter2@cache', /unsupported value "redis:\/\/\*\*\*@cache"/, 'hunter2');
  });
});
