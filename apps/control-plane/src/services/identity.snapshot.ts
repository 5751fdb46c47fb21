import { encodePosition, snapshotField, type StateSnapshotCodec } from '@rf/projections';
import { isRole, type Role } from '../core/actor';
import {
  IdentityState,
  type ApiTokenRecord,
  type EnrolmentTokenRecord,
  type HostCredentialRecord,
  type UserRecord,
} from '../domain/identity.state';

/**
 * `IdentityState` in `readmodels.db` (docs/architecture.md, "State that starts
 * fast"). Bump the version with any change to `IdentityState.apply` or to this
 * shape: older snapshots are then discarded and the state is replayed. It
 * holds password and token hashes, as the log does — never a secret itself.
 */
// 2: API tokens record the kind of actor that created them (createdByKind).
// 3: browser sessions (from UserLoggedIn/UserLoggedOut), shared by every node.
export const IDENTITY_SNAPSHOT_VERSION = 3;

const { record, list, str, num, bool, strOrNull } = snapshotField;

export const identitySnapshotCodec: StateSnapshotCodec<IdentityState> = {
  name: 'identity',
  version: IDENTITY_SNAPSHOT_VERSION,
  encode: (s) => ({
    position: encodePosition(s.position),
    users: [...s.users.values()],
    apiTokens: [...s.apiTokens.values()],
    enrolmentTokens: [...s.enrolmentTokens.values()],
    hosts: [...s.hosts.values()],
    sessions: [...s.sessions.values()],
  }),
  decode: (body) => {
    const o = record(body, 'snapshot');
    const state = new IdentityState();
    state.position = snapshotField.position(o['position']);
    for (const u of list(o['users'], 'users')) {
      const user = userOf(record(u, 'user'));
      state.users.set(user.id, user);
    }
    for (const t of list(o['apiTokens'], 'apiTokens')) {
      const token = apiTokenOf(record(t, 'api token'));
      state.apiTokens.set(token.id, token);
      state.indexApiToken(token);
    }
    for (const t of list(o['enrolmentTokens'], 'enrolmentTokens')) {
      const token = enrolmentTokenOf(record(t, 'enrolment token'));
      state.enrolmentTokens.set(token.id, token);
    }
    for (const h of list(o['hosts'], 'hosts')) {
      const host = hostOf(record(h, 'host'));
      state.hosts.set(host.hostId, host);
    }
    for (const x of list(o['sessions'], 'sessions')) {
      const r = record(x, 'session');
      const session = {
        idHash: str(r['idHash'], 'idHash'),
        userId: str(r['userId'], 'userId'),
        createdAt: num(r['createdAt'], 'createdAt'),
        expiresAt: num(r['expiresAt'], 'expiresAt'),
      };
      state.sessions.set(session.idHash, session);
    }
    return state;
  },
};

function role(v: unknown): Role {
  if (!isRole(v)) throw new Error(`${String(v)} is not a role`);
  return v;
}

const userOf = (u: Record<string, unknown>): UserRecord => ({
  id: str(u['id'], 'user id'),
  username: str(u['username'], 'username'),
  role: role(u['role']),
  passwordHash: str(u['passwordHash'], 'passwordHash'),
  disabled: bool(u['disabled'], 'disabled'),
  createdAt: str(u['createdAt'], 'createdAt'),
  revision: num(u['revision'], 'revision'),
});

const apiTokenOf = (t: Record<string, unknown>): ApiTokenRecord => ({
  id: str(t['id'], 'token id'),
  name: str(t['name'], 'token name'),
  role: role(t['role']),
  tokenHash: str(t['tokenHash'], 'tokenHash'),
  createdAt: str(t['createdAt'], 'createdAt'),
  expiresAt: strOrNull(t['expiresAt'], 'expiresAt'),
  createdBy: strOrNull(t['createdBy'], 'createdBy'),
  createdByKind: strOrNull(t['createdByKind'], 'createdByKind'),
  revoked: bool(t['revoked'], 'revoked'),
});

const enrolmentTokenOf = (t: Record<string, unknown>): EnrolmentTokenRecord => ({
  id: str(t['id'], 'enrolment token id'),
  tokenHash: str(t['tokenHash'], 'tokenHash'),
  createdAt: str(t['createdAt'], 'createdAt'),
  expiresAt: str(t['expiresAt'], 'expiresAt'),
  usedByHost: strOrNull(t['usedByHost'], 'usedByHost'),
  revoked: bool(t['revoked'], 'revoked'),
  revision: num(t['revision'], 'revision'),
});

const hostOf = (h: Record<string, unknown>): HostCredentialRecord => ({
  hostId: str(h['hostId'], 'hostId'),
  hostname: str(h['hostname'], 'hostname'),
  secretHash: str(h['secretHash'], 'secretHash'),
  revoked: bool(h['revoked'], 'revoked'),
});
