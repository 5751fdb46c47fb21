import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@rf/events';
import { IdentityState } from './identity.state';
import { identitySnapshotCodec } from '../services/identity.snapshot';

let seq = 0n;
function recorded(
  streamId: string,
  revision: number,
  type: string,
  data: Record<string, unknown>,
  id?: string,
): RecordedEvent {
  seq += 1n;
  return {
    id: id ?? `00000000-0000-4000-8000-${seq.toString().padStart(12, '0')}`,
    type,
    streamId,
    revision,
    position: { commit: seq, prepare: seq },
    data,
    metadata: {},
    created: new Date('2026-01-01T00:00:00Z'),
  };
}

describe('IdentityState', () => {
  it('folds a user through role change, password change and disable, tracking the stream revision', () => {
    const s = new IdentityState();
    s.apply(
      recorded('user-u1', 0, 'UserCreated', {
        user_id: 'u1',
        username: 'Alice',
        role: 'viewer',
        password_hash: 'h1',
      }),
    );
    s.apply(recorded('user-u1', 1, 'UserRoleChanged', { user_id: 'u1', role: 'operator' }));
    s.apply(recorded('user-u1', 2, 'UserPasswordChanged', { user_id: 'u1', password_hash: 'h2' }));
    s.apply(recorded('user-u1', 3, 'UserDisabled', { user_id: 'u1' }));
    const u = s.userByName('alice');
    assert.equal(u?.role, 'operator');
    assert.equal(u?.passwordHash, 'h2');
    assert.equal(u?.disabled, true);
    assert.equal(u?.revision, 3);
  });

  it('ignores a second delivery of an event (same or older position)', () => {
    const s = new IdentityState();
    s.apply(
      recorded('user-u1', 0, 'UserCreated', {
        user_id: 'u1',
        username: 'a',
        role: 'admin',
        password_hash: 'h',
      }),
    );
    const disable = recorded('user-u1', 1, 'UserDisabled', { user_id: 'u1' }, 'e-disable');
    s.apply(disable);
    s.apply(recorded('user-u1', 2, 'UserEnabled', { user_id: 'u1' }));
    s.apply(disable);
    assert.equal(s.users.get('u1')?.disabled, false);
  });

  it('indexes API tokens by hash and marks revocation', () => {
    const s = new IdentityState();
    s.apply(
      recorded('token-t1', 0, 'ApiTokenCreated', {
        token_id: 't1',
        name: 'ci',
        role: 'viewer',
        token_hash: 'abc',
        expires_at: null,
      }),
    );
    assert.equal(s.apiTokenByHash('abc')?.name, 'ci');
    s.apply(recorded('token-t1', 1, 'ApiTokenRevoked', { token_id: 't1' }));
    assert.equal(s.apiTokenByHash('abc')?.revoked, true);
  });

  it('tracks enrolment token use and host revocation', () => {
    const s = new IdentityState();
    s.apply(
      recorded('enrolment-e1', 0, 'EnrolmentTokenCreated', {
        token_id: 'e1',
        token_hash: 'x',
        expires_at: '2030-01-01T00:00:00Z',
      }),
    );
    s.apply(recorded('enrolment-e1', 1, 'EnrolmentTokenUsed', { token_id: 'e1', host_id: 'h1' }));
    assert.deepEqual(
      [s.enrolmentTokens.get('e1')?.usedByHost, s.enrolmentTokens.get('e1')?.revision],
      ['h1', 1],
    );
    s.apply(
      recorded('host-h1', 0, 'HostEnrolled', { host_id: 'h1', hostname: 'web1', agent_secret_hash: 'sh' }),
    );
    s.apply(recorded('host-h1', 1, 'AgentConnected', { host_id: 'h1' }));
    assert.equal(s.hosts.get('h1')?.revoked, false);
    s.apply(recorded('host-h1', 2, 'HostRevoked', { host_id: 'h1' }));
    assert.equal(s.hosts.get('h1')?.revoked, true);
  });

  it('skips malformed events instead of storing half a record', () => {
    const s = new IdentityState();
    s.apply(
      recorded('user-u9', 0, 'UserCreated', {
        user_id: 'u9',
        username: 'x',
        role: 'root',
        password_hash: 'h',
      }),
    );
    s.apply(recorded('token-t9', 0, 'ApiTokenCreated', { token_id: 't9', role: 'admin' }));
    assert.equal(s.users.size, 0);
    assert.equal(s.apiTokens.size, 0);
  });

  it('comes back from its snapshot equal, its token hash index included', () => {
    const s = new IdentityState();
    s.apply(
      recorded('user-u9', 0, 'UserCreated', {
        user_id: 'u9',
        username: 'Zoe',
        role: 'operator',
        password_hash: 'h',
      }),
    );
    s.apply(
      recorded('token-t9', 0, 'ApiTokenCreated', {
        token_id: 't9',
        name: 'ci',
        role: 'viewer',
        token_hash: 'th9',
        created_by: 'u9',
      }),
    );
    s.apply(
      recorded('enrolment-e9', 0, 'EnrolmentTokenCreated', {
        token_id: 'e9',
        token_hash: 'eh',
        expires_at: '2026-02-01T00:00:00.000Z',
        created_by: 'u9',
      }),
    );
    s.apply(
      recorded('enrolment-e9', 1, 'EnrolmentTokenUsed', {
        token_id: 'e9',
        host_id: 'h9',
        used_at: '2026-01-02T00:00:00.000Z',
      }),
    );
    s.apply(
      recorded('host-h9', 0, 'HostEnrolled', { host_id: 'h9', hostname: 'db', agent_secret_hash: 'sh' }),
    );
    s.apply(
      recorded('token-t9', 1, 'ApiTokenRevoked', { token_id: 't9', revoked_at: '2026-01-03T00:00:00.000Z' }),
    );
    const back = identitySnapshotCodec.decode(JSON.parse(JSON.stringify(identitySnapshotCodec.encode(s))));
    assert.deepEqual(identitySnapshotCodec.encode(back), identitySnapshotCodec.encode(s));
    assert.equal(back.apiTokenByHash('th9')?.revoked, true);
    assert.equal(back.userByName('zoe')?.role, 'operator');
    assert.deepEqual(back.position, s.position);
    const replay = recorded('user-u9', 1, 'UserDisabled', { user_id: 'u9' });
    back.apply({ ...replay, position: s.position! });
    assert.equal(
      back.users.get('u9')?.disabled,
      false,
      'an event at the snapshot position is not applied again',
    );
  });

  it('refuses a snapshot body that is not an identity state', () => {
    assert.throws(() => identitySnapshotCodec.decode([]), /snapshot must be an object/);
    assert.throws(
      () =>
        identitySnapshotCodec.decode({
          position: null,
          users: [{ id: 'u', role: 'root' }],
          apiTokens: [],
          enrolmentTokens: [],
          hosts: [],
        }),
      /username must be a string|root is not a role/,
    );
  });

  it('keeps browser sessions from the log: login opens, logout ends, a password change or disable ends all of the user', () => {
    const s = new IdentityState();
    s.apply(
      recorded('user-u1', 0, 'UserCreated', {
        user_id: 'u1',
        username: 'a',
        role: 'admin',
        password_hash: 'h',
      }),
    );
    s.apply(
      recorded('user-u2', 0, 'UserCreated', {
        user_id: 'u2',
        username: 'b',
        role: 'viewer',
        password_hash: 'h',
      }),
    );
    const login = (user: string, rev: number, hash: string, at = '2026-01-01T10:00:00Z') =>
      s.apply(
        recorded(`user-${user}`, rev, 'UserLoggedIn', {
          user_id: user,
          at,
          session_id_hash: hash,
          session_expires_at: '2026-01-02T10:00:00Z',
        }),
      );
    login('u1', 1, 'h-1');
    login('u1', 2, 'h-2');
    login('u2', 1, 'h-3');
    s.apply(recorded('user-u1', 3, 'UserLoggedIn', { user_id: 'u1', at: '2026-01-01T10:00:00Z' }));
    assert.deepEqual(
      [...s.sessions.keys()],
      ['h-1', 'h-2', 'h-3'],
      'a login from before shared sessions opens none',
    );
    assert.equal(s.sessions.get('h-1')?.createdAt, Date.parse('2026-01-01T10:00:00Z'));
    assert.equal(s.sessions.get('h-1')?.expiresAt, Date.parse('2026-01-02T10:00:00Z'));
    s.apply(
      recorded('user-u1', 4, 'UserLoggedOut', {
        user_id: 'u1',
        session_id_hash: 'h-1',
        at: '2026-01-01T11:00:00Z',
      }),
    );
    assert.deepEqual([...s.sessions.keys()], ['h-2', 'h-3']);
    s.apply(recorded('user-u1', 5, 'UserPasswordChanged', { user_id: 'u1', password_hash: 'h2' }));
    assert.deepEqual([...s.sessions.keys()], ['h-3'], "the password change ends u1's sessions only");
    s.apply(recorded('user-u2', 2, 'UserDisabled', { user_id: 'u2' }));
    assert.equal(s.sessions.size, 0);
    login('u2', 3, 'h-4', '2026-01-03T10:00:00Z');
    assert.deepEqual([...s.sessions.keys()], ['h-4'], 'expired sessions are dropped as later logins come in');
    const restored = identitySnapshotCodec.decode(
      JSON.parse(JSON.stringify(identitySnapshotCodec.encode(s))),
    );
    assert.deepEqual(
      [...restored.sessions.values()],
      [...s.sessions.values()],
      'sessions survive the snapshot',
    );
  });

  it('counts failed logins per username and per client address from the log, and a login clears the user', () => {
    const s = new IdentityState();
    s.apply(
      recorded('user-u1', 0, 'UserCreated', {
        user_id: 'u1',
        username: 'Alice',
        role: 'admin',
        password_hash: 'h',
      }),
    );
    const fail = (stream: string, rev: number, username: string, client: string, at: string) =>
      s.apply({
        ...recorded(stream, rev, 'UserLoginFailed', { username, reason: 'wrong_password', at }),
        metadata: { actor: { kind: 'system', id: 'login', name: client } },
      });
    fail('user-u1', 1, 'Alice', '10.0.0.1', '2026-01-01T10:00:00Z');
    fail('user-u1', 2, 'Alice', '10.0.0.2', '2026-01-01T10:00:30Z');
    fail('user-unknown', 0, '', '10.0.0.1', '2026-01-01T10:00:40Z');
    const since = Date.parse('2026-01-01T09:59:59Z');
    assert.equal(s.loginFailures.since('user', 'alice', since).length, 2);
    assert.equal(s.loginFailures.since('client', '10.0.0.1', since).length, 2);
    assert.equal(s.loginFailures.since('user', '', since).length, 0, 'unknown usernames are not in the log');
    assert.equal(s.loginFailures.since('user', 'alice', Date.parse('2026-01-01T10:00:10Z')).length, 1);
    s.apply(recorded('user-u1', 3, 'UserLoggedIn', { user_id: 'u1', at: '2026-01-01T10:01:00Z' }));
    assert.equal(s.loginFailures.since('user', 'alice', since).length, 0);
    assert.equal(s.loginFailures.since('client', '10.0.0.2', since).length, 1, 'the address budget stays');
  });
});
