import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AuthSettings } from '../core/auth.settings';
import { SecretBox } from '../core/secret-box';
import { IdentityState } from '../domain/identity.state';
import type { IdentityLog } from './identity.log';
import { SessionService } from './session.service';

/** The identity log seen by SessionService: its state and the catch-up it asks for. */
class FakeIdentityLog {
  readonly state = new IdentityState();
  readonly caughtUp: string[] = [];
  onCatchUp: (stream: string) => void = () => undefined;
  catchUpWith(stream: string): Promise<void> {
    this.caughtUp.push(stream);
    this.onCatchUp(stream);
    return Promise.resolve();
  }
}

const setup = (key = randomBytes(32)) => {
  const log = new FakeIdentityLog();
  const service = new SessionService(log as unknown as IdentityLog, AuthSettings.with(), new SecretBox(key));
  return { log, service };
};

describe('SessionService', () => {
  it('refuses a made-up cookie value without reading the log', async () => {
    const { log, service } = setup();
    assert.equal(await service.resolve('u1.guessed-random.guessed-tag'), null);
    assert.equal(await service.resolve('u1.no-tag-at-all'), null);
    assert.equal(await service.resolve('not a cookie'), null);
    assert.deepEqual(log.caughtUp, []);
  });

  it("refuses a value made by another installation's key without reading the log", async () => {
    const other = setup().service.create('u1');
    const { log, service } = setup();
    assert.equal(await service.resolve(other.sessionId), null);
    assert.deepEqual(log.caughtUp, []);
  });

  it('catches up with the user stream for a value another node of this installation made', async () => {
    const key = randomBytes(32);
    const made = setup(key).service.create('u1');
    const { log, service } = setup(key);
    // The login event reaches this node while it catches up.
    log.onCatchUp = () =>
      log.state.sessions.set(made.idHash, {
        idHash: made.idHash,
        userId: 'u1',
        createdAt: Date.now(),
        expiresAt: made.expiresAt,
      });
    const active = await service.resolve(made.sessionId);
    assert.deepEqual(log.caughtUp, ['user-u1']);
    assert.equal(active?.userId, 'u1');
    assert.equal(active?.csrfToken, made.csrfToken);
  });
});
