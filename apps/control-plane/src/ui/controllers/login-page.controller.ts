import { Controller, Get, Header, HttpCode, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { actorOf, Public, Roles } from '../../middleware/auth.decorators';
import { clearSessionCookies, SESSION_COOKIE } from '../../middleware/auth.cookies';
import { SessionService } from '../../services/session.service';
import { readCookie } from '../../middleware/auth.cookies';
import { AppConfig } from '../../core/app-config';
import { safeNext } from '../ui-html';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

/**
 * The login page posts to `POST /api/auth/login` (own-origin checked and rate
 * limited by the auth module); logout is a CSRF-checked form post.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class LoginPageController {
  private readonly secure: boolean;

  constructor(
    private readonly renderer: UiRenderer,
    private readonly sessions: SessionService,
    config: AppConfig,
  ) {
    this.secure = config.publicUrl.startsWith('https:');
  }

  @Public()
  @Get('login')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Query('next') next?: string,
  ): string | void {
    const target = safeNext(next);
    if (actorOf(req)) {
      res.redirect(303, target);
      return;
    }
    return this.renderer.render(req, 'login', { title: 'Log in' }, { next: target });
  }

  @Roles('viewer')
  @Post('logout')
  @HttpCode(303)
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sessionId = readCookie(req, SESSION_COOKIE);
    const actor = actorOf(req);
    if (sessionId && actor) await this.sessions.destroy(sessionId, actor);
    clearSessionCookies(res, { secure: this.secure });
    res.redirect(303, '/login');
  }
}
