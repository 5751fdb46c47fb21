import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildPinoOptions } from './pino-options';

describe('buildPinoOptions', () => {
  it('redacts credentials and secrets wherever the control plane logs them, and sets the base fields', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const options = buildPinoOptions({ logLevel: 'info', prettyLogs: false, version: '9.9.9' });
    const logger = pino(options, sink);
    logger.info(
      {
        req: { headers: { authorization: 'Bearer api-token-123', cookie: 'rf_session=abc' } },
        password: 'hunter2',
        body: { repo: { password: 'repo-pass-1', credential: 'cloud-key-1' } },
        agent_secret: 'agent-secret-1',
        token: 'enrol-token-1',
        host_id: 'h-1',
        envelope: {
          type: 'config.update',
          payload: { repo_password: 'wire-pass-1', repo_credential: 'wire-cred-1' },
        },
        deep: { a: { b: { c: { d: { repo_password: 'deep-pass-1' } } } } },
        channel: { settings: { webhook_secret: 'hmac-1', webhook_url: 'https://hooks.example/T0/B0/xyz-1' } },
      },
      'something happened',
    );
    logger.error(
      { err: Object.assign(new Error('upstream failed'), { request: { repo_credential: 'err-cred-1' } }) },
      'x',
    );
    const text = lines.join('');
    for (const secret of [
      'api-token-123',
      'rf_session=abc',
      'hunter2',
      'repo-pass-1',
      'cloud-key-1',
      'agent-secret-1',
      'enrol-token-1',
      'wire-pass-1',
      'wire-cred-1',
      'deep-pass-1',
      'hmac-1',
      'xyz-1',
      'err-cred-1',
    ]) {
      assert.ok(!text.includes(secret), `${secret} leaked into: ${text}`);
    }
    const line = JSON.parse(text.split('\n')[0]!) as { service: string; version: string; host_id: string };
    assert.equal(line.service, 'restic-fleet-control-plane');
    assert.equal(line.version, '9.9.9');
    assert.equal(line.host_id, 'h-1');
  });
});
