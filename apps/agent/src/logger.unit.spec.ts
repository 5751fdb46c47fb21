import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { agentLoggerOptions } from './logger';

describe('agent logger options', () => {
  it('hide repository secrets wherever a log line carries them, errors included', () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const logger = pino(agentLoggerOptions('trace'), sink);
    logger.trace(
      {
        envelope: {
          type: 'config.update',
          payload: { repo_url: '/r', repo_password: 'pw-1', repo_credential: 'cred-1' },
        },
      },
      'agent: message in',
    );
    logger.info({ repo_credential: 'cred-2', job: { env: { RESTIC_PASSWORD: 'pw-2' } } }, 'top level');
    logger.error(
      { err: Object.assign(new Error('failed'), { options: { credential: 'cred-3' } }) },
      'with an error',
    );
    for (const secret of ['pw-1', 'cred-1', 'cred-2', 'cred-3'])
      assert.ok(!text.includes(secret), `${secret} leaked into ${text}`);
    const first = JSON.parse(text.split('\n')[0]!) as { envelope: { payload: Record<string, string> } };
    assert.equal(first.envelope.payload.repo_password, '[Redacted]');
    assert.equal(first.envelope.payload.repo_url, '/r');
    assert.match(text, /"service":"restic-fleet-agent"/);
  });
});
