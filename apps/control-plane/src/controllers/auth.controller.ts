import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../core/app-config';
import {
  clearSessionCookies,
  csrfTokenOf,
  readCookie,
  SESSION_COOKIE,
  setSessionCookies,
} from '../middleware/auth.cookies';
import { CurrentActor, Public, Roles } from '../middleware/auth.decorators';
import { type Actor } from '../core/actor';
import { LoginDto } from '../dtos/auth.dtos';
import { AuthSettings } from '../core/auth.settings';
import { AuthError } from '../core/auth.errors';
import { LoginService } from '../services/login.service';
import { RequestAuthenticator } from '../middleware/request-authenticator';
import { SessionService } from '../services/session.service';
import { mapUser } from '../services/users.service';

export const clientIp = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

@Controller('api/auth')
export class AuthController {
  private readonly secureCookies: boolean;

  constructor(
    private readonly login: LoginService,
    private readonly sessions: SessionService,
    private readonly settings: AuthSettings,
    private readonly authenticator: RequestAuthenticator,
    config: AppConfig,
  ) {
    this.secureCookies = config.publicUrl.startsWith('https:');
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async logIn(@Body() dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    // Blocks login CSRF (a foreign page logging the browser into the attacker's account).
    if (!this.authenticator.isOwnOrigin(req)) {
      throw new AuthError('forbidden', "login is only accepted from the control plane's own pages", {
        field: 'origin',
      });
    }
    const { user, session } = await this.login.login(dto.username, dto.password, clientIp(req));
    setSessionCookies(res, session, { secure: this.secureCookies }, this.settings.now());
    return { user: mapUser(user), csrf_token: session.csrfToken };
  }

  @Roles('viewer')
  @Post('logout')
  @HttpCode(204)
  async logOut(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentActor() actor: Actor,
  ): Promise<void> {
    const sessionId = readCookie(req, SESSION_COOKIE);
    if (sessionId) await this.sessions.destroy(sessionId, actor);
    clearSessionCookies(res, { secure: this.secureCookies });
  }

  @Roles('viewer')
  @Get('me')
  me(@CurrentActor() actor: Actor, @Req() req: Request) {
    return {
      kind: actor.kind,
      id: actor.id,
      name: actor.name ?? null,
      role: actor.role ?? null,
      csrf_token: csrfTokenOf(req) ?? null,
    };
  }
}
