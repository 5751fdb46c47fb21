import { Body, Controller, Get, Header, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentActor, Roles } from '../../middleware/auth.decorators';
import { isRole, ROLES, roleSatisfies, type Actor } from '../../core/actor';
import { EnrolmentService } from '../../services/enrolment.service';
import { ApiTokensService } from '../../services/api-tokens.service';
import { UsersService } from '../../services/users.service';
import { ParseIdPipe } from '../../middleware/request-context';
import { fmt } from '../ui-fmt';
import { fieldErrors, intOrRaw, isCodedError, text, type FormBody } from '../ui-forms';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

type Section = 'enrol' | 'tokens' | 'users';

/** `/settings`: add host (enrolment tokens), API tokens, users and roles. */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class SettingsPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly enrolment: EnrolmentService,
    private readonly tokens: ApiTokensService,
    private readonly users: UsersService,
  ) {}

  @Get('settings')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(@Req() req: Request, @CurrentActor() actor: Actor): string {
    return this.renderer.render(req, 'settings', { title: 'Settings', active: 'settings' }, this.data(actor));
  }

  @Post('settings/enrolment-tokens')
  @Roles('operator')
  async createEnrolment(
    @Body() body: FormBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const minutes = intOrRaw(text(body, 'expires_in_minutes'));
    await this.answer(req, res, actor, 'enrol', async () => ({
      created: await this.enrolment.createToken(actor, minutes as number | undefined),
    }));
  }

  @Post('settings/enrolment-tokens/:id/revoke')
  @Roles('operator')
  async revokeEnrolment(
    @Param('id', ParseIdPipe) id: string,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.answer(req, res, actor, 'enrol', async () => {
      await this.enrolment.revokeToken(id, actor);
      return {};
    });
  }

  @Post('settings/tokens')
  @Roles('admin')
  async createToken(
    @Body() body: FormBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const days = intOrRaw(text(body, 'expires_in_days'));
    await this.answer(req, res, actor, 'tokens', async () => ({
      created: await this.tokens.create(
        {
          name: text(body, 'name'),
          role: text(body, 'role') as Actor['role'] & string,
          ...(days !== undefined ? { expiresInDays: days as number } : {}),
        },
        actor,
      ),
    }));
  }

  @Post('settings/tokens/:id/revoke')
  @Roles('admin')
  async revokeToken(
    @Param('id', ParseIdPipe) id: string,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.answer(req, res, actor, 'tokens', async () => {
      await this.tokens.revoke(id, actor);
      return {};
    });
  }

  @Post('settings/users')
  @Roles('admin')
  async createUser(
    @Body() body: FormBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.answer(req, res, actor, 'users', async () => {
      const role = text(body, 'role');
      const user = await this.users.create(
        text(body, 'username'),
        (isRole(role) ? role : role) as 'viewer',
        typeof body['password'] === 'string' ? body['password'] : '',
        actor,
      );
      return { createdUser: user.username };
    });
  }

  @Post('settings/users/:id')
  @Roles('admin')
  async updateUser(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @CurrentActor() actor: Actor,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.answer(req, res, actor, 'users', async () => {
      const role = text(body, 'role');
      const disabled = text(body, 'disabled');
      await this.users.update(
        id,
        {
          ...(role ? { role: role as 'viewer' } : {}),
          ...(disabled ? { disabled: disabled === 'true' } : {}),
        },
        actor,
      );
      return { updatedUser: id };
    });
  }

  /** Runs a change and answers with the section re-rendered (htmx) or a redirect back (plain form). */
  private async answer(
    req: Request,
    res: Response,
    actor: Actor,
    section: Section,
    change: () => Promise<Record<string, unknown>>,
  ): Promise<void> {
    let extra: Record<string, unknown>;
    try {
      extra = await change();
    } catch (err) {
      if (!isCodedError(err)) throw err;
      extra = { errors: fieldErrors(err) };
    }
    const htmx = req.headers['hx-request'] === 'true';
    res.setHeader('Cache-Control', 'no-store');
    res.type('html');
    if (htmx) {
      res.send(
        this.renderer.partial(req, `partials/settings-${section}`, {
          ...this.data(actor),
          [`${section}Result`]: extra,
        }),
      );
      return;
    }
    // Without htmx the whole page comes back, with the one-time secret or the errors in place.
    res.status(extra['errors'] ? 400 : 200);
    res.send(
      this.renderer.render(
        req,
        'settings',
        { title: 'Settings', active: 'settings' },
        {
          ...this.data(actor),
          [`${section}Result`]: extra,
        },
      ),
    );
  }

  private data(actor: Actor) {
    const role = actor.role ?? 'viewer';
    const admin = roleSatisfies(role, 'admin');
    return {
      me: { name: actor.name ?? actor.id, role },
      canOperate: roleSatisfies(role, 'operator'),
      isAdmin: admin,
      enrolmentTokens: roleSatisfies(role, 'operator') ? this.enrolment.listTokens() : [],
      apiTokens: admin ? this.tokens.list() : [],
      users: admin ? this.users.list() : [],
      roles: ROLES,
      fmt,
      now: new Date(),
    };
  }
}
