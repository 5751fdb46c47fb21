import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import { roleSatisfies, type Actor, type Role } from '../core/actor';
import { AuthError } from '../core/auth.errors';
import { attachAuth, CSRF_FORM_FIELD, CSRF_HEADER, setSeenCookie } from './auth.cookies';
import { RequestAuthenticator } from './request-authenticator';
import { safeEqual } from '../core/secret-tokens';
import { AuthSettings } from '../core/auth.settings';
import { AppConfig } from '../core/app-config';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Deny by default: every HTTP route needs a session cookie or an API token
 * unless marked `@Public()`. Cookie-authenticated writes must echo the
 * session's CSRF token; bearer tokens are exempt (browsers never attach them
 * on their own). WebSocket upgrades are not seen here: the agent gateway
 * uses AgentCredentialsService, browser sockets RequestAuthenticator.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: RequestAuthenticator,
    private readonly settings: AuthSettings,
    config: AppConfig,
  ) {
    this.secureCookies = config.publicUrl.startsWith('https:');
  }

  private readonly secureCookies: boolean;

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    const req = context.switchToHttp().getRequest<Request>();
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true;
    const safe = SAFE_METHODS.has(req.method.toUpperCase());

    const actor = await this.authenticate(
      req,
      context.switchToHttp().getResponse<Response>(),
      safe,
      isPublic,
    );
    stripCsrfField(req);
    if (isPublic) return true;
    if (!actor) {
      throw new AuthError(
        'unauthenticated',
        'authentication required: log in or send Authorization: Bearer <api token>',
      );
    }
    const required =
      this.reflector.getAllAndOverride<Role | undefined>(ROLES_KEY, targets) ??
      (safe ? 'viewer' : 'operator');
    if (!actor.role || !roleSatisfies(actor.role, required)) {
      throw new AuthError(
        'forbidden',
        `this action requires the ${required} role; you have ${actor.role ?? 'no role'}`,
      );
    }
    return true;
  }

  /** The request's actor, or null. Throws only for a cookie write without a valid CSRF token on a protected route. */
  private async authenticate(
    req: Request,
    res: Response,
    safe: boolean,
    isPublic: boolean,
  ): Promise<Actor | null> {
    const result = await this.authenticator.authenticate(req);
    if (!result) return null;
    if (result.seen)
      setSeenCookie(
        res,
        result.seen.value,
        result.seen.expiresAt,
        { secure: this.secureCookies },
        this.settings.now(),
      );
    attachAuth(req, result.actor, result.csrfToken);
    if (result.via === 'session' && !safe && !isPublic && !csrfMatches(req, result.csrfToken ?? '')) {
      throw new AuthError(
        'forbidden',
        `missing or wrong CSRF token: send the ${CSRF_HEADER} header or a ${CSRF_FORM_FIELD} form field`,
        { field: CSRF_HEADER },
      );
    }
    return result.actor;
  }
}

function csrfMatches(req: Request, expected: string): boolean {
  const header = req.headers[CSRF_HEADER];
  const body: unknown = req.body;
  const fromForm =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>)[CSRF_FORM_FIELD]
      : undefined;
  const presented = typeof header === 'string' ? header : typeof fromForm === 'string' ? fromForm : undefined;
  return presented !== undefined && safeEqual(presented, expected);
}

/** The token has done its job; DTOs that forbid unknown fields must not see it. */
function stripCsrfField(req: Request): void {
  const body: unknown = req.body;
  if (typeof body === 'object' && body !== null && CSRF_FORM_FIELD in body) {
    delete (body as Record<string, unknown>)[CSRF_FORM_FIELD];
  }
}
