import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { attachAuth, csrfHiddenInput, csrfTokenOf, readCookie } from './auth.cookies';
import { actorOf } from './auth.decorators';

const fakeRequest = (cookie?: string): Request =>
  ({ headers: cookie === undefined ? {} : { cookie } }) as Request;

describe('auth cookies and the CSRF form helper', () => {
  it('reads one cookie among several, decoding it, and ignores look-alike names', () => {
    const req = fakeRequest('x_rf_session=nope; rf_session=abc%3D%3D; rf_csrf=t1');
    assert.equal(readCookie(req, 'rf_session'), 'abc==');
    assert.equal(readCookie(req, 'rf_csrf'), 't1');
    assert.equal(readCookie(req, 'missing'), undefined);
    assert.equal(readCookie(fakeRequest(), 'rf_session'), undefined);
  });

  it('renders a hidden _csrf input for a session request and nothing without one', () => {
    const req = fakeRequest();
    assert.equal(csrfHiddenInput(req), '');
    attachAuth(req, { kind: 'user', id: 'u1', role: 'viewer' }, 'tok"<en>&');
    assert.equal(csrfTokenOf(req), 'tok"<en>&');
    assert.equal(csrfHiddenInput(req), '<input type="hidden" name="_csrf" value="tok&quot;&lt;en&gt;&amp;">');
    assert.deepEqual(actorOf(req), { kind: 'user', id: 'u1', role: 'viewer' });
  });
});
