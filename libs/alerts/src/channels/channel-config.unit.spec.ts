import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EncryptedSecret } from '@rf/events';
import {
  ChannelSettingsError,
  maskChannelSettings,
  openChannel,
  sealChannelSettings,
  type SecretSealer,
} from './channel-config';

/** A stand-in sealer (unit test of the mapping only; the control plane's AES-GCM box is tested with the control plane). */
const sealer: SecretSealer = {
  seal: (plain) => ({
    alg: 'aes-256-gcm',
    key_id: 'k1',
    iv: 'AAAA',
    tag: 'AAAA',
    ciphertext: Buffer.from(plain).toString('base64'),
  }),
  open: (s: EncryptedSecret) => {
    if (s.key_id !== 'k1') throw new Error('secret was sealed with another key');
    return Buffer.from(s.ciphertext, 'base64').toString();
  },
};

const EMAIL = {
  host: 'smtp.example.com',
  security: 'starttls',
  username: 'rf',
  password: 'hunter2',
  from: 'fleet@example.com',
  to: ['ops@example.com'],
};

describe('channel settings', () => {
  it('seals every secret, keeps plain fields, and shows secrets back only as set / not set', () => {
    const sealed = sealChannelSettings('email', EMAIL, sealer);
    assert.equal(sealed.host, 'smtp.example.com');
    assert.equal(typeof sealed.password, 'object');
    assert.ok(!JSON.stringify(sealed).includes('hunter2'));
    const masked = maskChannelSettings('email', sealed);
    assert.deepEqual(masked, { ...EMAIL, password: { set: true } });
    assert.ok(!JSON.stringify(masked).includes('hunter2'));
    const noPassword = maskChannelSettings(
      'email',
      sealChannelSettings('email', { ...EMAIL, password: '' }, sealer),
    );
    assert.deepEqual(noPassword.password, { set: false });
  });

  it('opens stored settings typed by kind, with the defaults filled in', () => {
    const email = openChannel('email', sealChannelSettings('email', EMAIL, sealer), sealer);
    assert.deepEqual(email, { kind: 'email', settings: { ...EMAIL, port: 587, security: 'starttls' } });
    const tls = openChannel(
      'email',
      sealChannelSettings('email', { ...EMAIL, security: 'tls' }, sealer),
      sealer,
    );
    assert.equal(tls.kind === 'email' && tls.settings.port, 465);
    const ntfy = openChannel('ntfy', sealChannelSettings('ntfy', { topic: 'rf' }, sealer), sealer);
    assert.deepEqual(ntfy, {
      kind: 'ntfy',
      settings: { server: 'https://ntfy.sh', topic: 'rf', token: undefined },
    });
    const hook = openChannel(
      'webhook',
      sealChannelSettings('webhook', { url: 'https://h.example/x', secret: 's'.repeat(20) }, sealer),
      sealer,
    );
    assert.deepEqual(hook, {
      kind: 'webhook',
      settings: { url: 'https://h.example/x', secret: 's'.repeat(20) },
    });
  });

  it('keeps a stored secret when an edit leaves it out, and replaces it when given', () => {
    const first = sealChannelSettings(
      'webhook',
      { url: 'https://h.example/1', secret: 'first-secret-1234' },
      sealer,
    );
    const edited = sealChannelSettings('webhook', { secret: 'second-secret-123' }, sealer, first);
    const opened = openChannel('webhook', edited, sealer);
    assert.deepEqual(opened.settings, { url: 'https://h.example/1', secret: 'second-secret-123' });
  });

  it('refuses bad input with every problem named, and a secret that cannot be opened with a clear code', () => {
    assert.throws(
      () => sealChannelSettings('webhook', { url: 'ftp://x', secret: 'short' }, sealer),
      (e: unknown) =>
        e instanceof ChannelSettingsError &&
        e.code === 'invalid_channel_settings' &&
        e.issues.map((i) => i.field).join() === 'settings.url,settings.secret',
    );
    const sealed = { ...sealChannelSettings('slack', { url: 'https://hooks.slack.com/x' }, sealer) };
    sealed.url = { ...(sealed.url as EncryptedSecret), key_id: 'rotated' };
    assert.throws(
      () => openChannel('slack', sealed, sealer),
      (e: unknown) =>
        e instanceof ChannelSettingsError &&
        e.code === 'channel_secret_unavailable' &&
        /enter it again/.test(e.message),
    );
  });
});
