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
});
