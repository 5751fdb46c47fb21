import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import { ACTOR_REQUEST_KEY } from './auth.decorators';
import { type Actor } from '../core/actor';

export const SESSION_COOKIE = 'rf_session';
/** Readable by page scripts (not HttpOnly) so htmx can echo it in `x-csrf-token`. */
export const CSRF_COOKIE = 'rf_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Signed time of the session's last request, so the idle timer holds across nodes. */
export const SEEN_COOKIE = 'rf_seen';
export const CSRF_FORM_FIELD = '_csrf';

const CSRF_REQUEST_KEY = 'rfCsrfToken';

/** Reads one cookie from the raw header, so auth does not depend on cookie-parser being mounted. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

export interface CookieSecurity {
  secure: boolean;
}

export function setSessionCookies(
  res: Response,
  session: { sessionId: string; csrfToken: string; expiresAt: number },
  security: CookieSecurity,
  now: number,
): void {
  const maxAge = Math.max(0, session.expiresAt - now);
  const common = { sameSite: 'strict' as const, secure: security.secure, path: '/', maxAge };
  res.cookie(SESSION_COOKIE, session.sessionId, { ...common, httpOnly: true });
  res.cookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
}

/** Refreshes the signed last-seen cookie (see SessionService). */
export function setSeenCookie(
  res: Response,
  seen: string,
  expiresAt: number,
  security: CookieSecurity,
  now: number,
): void {
  const maxAge = Math.max(0, expiresAt - now);
  res.cookie(SEEN_COOKIE, seen, {
    sameSite: 'strict',
    secure: security.secure,
    path: '/',
    maxAge,
    httpOnly: true,
  });
}

export function clearSessionCookies(res: Response, security: CookieSecurity): void {
  const common = { sameSite: 'strict' as const, secure: security.secure, path: '/' };
  res.clearCookie(SEEN_COOKIE, { ...common, httpOnly: true });
  res.clearCookie(SESSION_COOKIE, { ...common, httpOnly: true });
  res.clearCookie(CSRF_COOKIE, { ...common, httpOnly: false });
}

export function attachAuth(req: Request, actor: Actor, csrfToken?: string): void {
  const target = req as unknown as Record<string, unknown>;
  target[ACTOR_REQUEST_KEY] = actor;
  if (csrfToken !== undefined) target[CSRF_REQUEST_KEY] = csrfToken;
}

/** The CSRF token of the request's session (set by the guard), for pages that render forms. */
export function csrfTokenOf(req: Request): string | undefined {
  const value = (req as unknown as Record<string, unknown>)[CSRF_REQUEST_KEY];
  return typeof value === 'string' ? value : undefined;
}

const escapeAttr = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `<input type="hidden" name="_csrf" value="…">` for a server-rendered form; empty without a session. */
export function csrfHiddenInput(req: Request): string {
  const token = csrfTokenOf(req);
  return token === undefined
    ? ''
    : `<input type="hidden" name="${CSRF_FORM_FIELD}" value="${escapeAttr(token)}">`;
}
