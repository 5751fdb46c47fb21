import { Body, Controller, Get, Header, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ALERT_RULES,
  CHANNEL_FIELDS,
  CHANNEL_KINDS,
  isChannelKind,
  type AlertRuleSettings,
  type ChannelRouting,
} from '@rf/events';
import type { CommandContext } from '../../core/command-context';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import type { RuleConfiguration } from '@rf/alerts';
import { AppError } from '../../core/app-error';
import { AlertsService } from '../../services/alerts.service';
import { AlertSettingsPresenter, type ChannelDraft } from '../presenters/alert-settings.presenter';
import { fmt } from '../ui-fmt';
import {
  channelFromForm,
  fieldErrors,
  formGroup,
  isCodedError,
  ruleSettingFromForm,
  text,
  type FormBody,
} from '../ui-forms';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const HTML = 'text/html; charset=utf-8';
const isHtmx = (req: Request): boolean => req.headers['hx-request'] === 'true';

/** Settings → Notifications (channels, routing, Send test, deliveries) and the alert rule settings. Admin only. */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
@Roles('admin')
export class AlertSettingsPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: AlertSettingsPresenter,
    private readonly alerts: AlertsService,
  ) {}

  @Get('settings/notifications')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  async notifications(@Query() q: FormBody, @Req() req: Request): Promise<string> {
    const page = await this.presenter.notifications(new Date(), { kind: text(q, 'kind') });
    return this.notificationsPage(req, { page, errors: {}, saved: null, test: null });
  }

  @Get('settings/notifications/:id/edit')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  async edit(
    @Param('id', ParseIdPipe) id: string,
    @Query() q: FormBody,
    @Req() req: Request,
  ): Promise<string> {
    const kind = text(q, 'kind');
    const page = await this.presenter.notifications(new Date(), { id, ...(kind ? { kind } : {}) });
    return this.notificationsPage(req, { page, errors: {}, saved: null, test: null });
  }

  /** The form again for another kind (the kind select swaps it with htmx). */
  @Get('ui/partials/channel-form')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  async channelForm(@Query() q: FormBody, @Req() req: Request): Promise<string> {
    const id = text(q, 'id');
    const name = text(q, 'name');
    // The name typed so far survives a change of kind.
    const page = await this.presenter.notifications(new Date(), {
      kind: text(q, 'kind'),
      ...(id ? { id } : {}),
      ...(name ? { name } : {}),
    });
    return this.renderer.partial(req, 'partials/channel-form', { page, fmt, errors: {} });
  }

  @Post('settings/notifications')
  async create(
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.saveChannel(null, body, ctx, req, res);
  }

  @Post('settings/notifications/:id')
  async update(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    await this.saveChannel(id, body, ctx, req, res);
  }

  @Post('settings/notifications/:id/remove')
  async remove(
    @Param('id', ParseIdPipe) id: string,
    @RequestContext() ctx: CommandContext,
    @Res() res: Response,
  ): Promise<void> {
    await this.alerts.removeChannel(id, ctx);
    res.redirect(303, '/settings/notifications');
  }

  /** "Send test": answers the channel's result line (htmx) or the page with it. */
  @Post('settings/notifications/:id/test')
  async test(@Param('id', ParseIdPipe) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    let test: { id: string; ok: boolean; message: string };
    try {
      const result = await this.alerts.sendTest(id);
      test = result.delivered
        ? { id, ok: true, message: 'Delivered: the receiver accepted the test notification.' }
        : { id, ok: false, message: `Not delivered: ${result.error}` };
    } catch (err) {
      if (!isCodedError(err)) throw err;
      test = { id, ok: false, message: err.message };
    }
    res.type('html').setHeader('Cache-Control', 'no-store');
    if (isHtmx(req)) {
      res.send(this.renderer.partial(req, 'partials/channel-test-result', { test }));
      return;
    }
    const page = await this.presenter.notifications(new Date());
    res.send(this.notificationsPage(req, { page, errors: {}, saved: null, test }));
  }

  @Get('settings/alert-rules')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  async rules(@Req() req: Request): Promise<string> {
    return this.rulesPage(req, { errors: {}, saved: null });
  }

  /** The global settings of every rule at once. */
  @Post('settings/alert-rules')
  async putRules(
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const rows = formGroup(body, 'rules');
    const rules: Record<string, Record<string, unknown>> = {};
    const errors: Record<string, string[]> = {};
    for (const rule of ALERT_RULES) {
      const { setting, error } = ruleSettingFromForm(formGroup(rows, rule));
      if (error) errors[`rules.${rule}.threshold_s`] = [error];
      if (Object.keys(setting).length) rules[rule] = setting;
    }
    await this.changeRules(req, res, errors, ctx, 'Rule settings saved.', (current) => ({
      rules: rules as AlertRuleSettings,
      host_overrides: current.host_overrides,
    }));
  }

  @Post('settings/alert-rules/overrides')
  async addOverride(
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const host = text(body, 'host');
    const rule = text(body, 'rule');
    const { setting, error } = ruleSettingFromForm(body);
    const errors: Record<string, string[]> = {};
    if (!host) errors['override.host'] = ['choose a host'];
    if (!rule) errors['override.rule'] = ['choose a rule'];
    if (error) errors['override.threshold_s'] = [error];
    if (!Object.keys(setting).length && !error)
      errors['override._form'] = ['set at least one of enabled, severity or threshold'];
    await this.changeRules(req, res, errors, ctx, 'Host override saved.', (current) => ({
      rules: current.rules,
      host_overrides: {
        ...current.host_overrides,
        [host]: { ...(current.host_overrides[host] ?? {}), [rule]: setting },
      },
    }));
  }

  @Post('settings/alert-rules/overrides/remove')
  async removeOverride(
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const host = text(body, 'host');
    const rule = text(body, 'rule');
    await this.changeRules(req, res, {}, ctx, 'Host override removed.', (current) => {
      const rest = Object.fromEntries(
        Object.entries(current.host_overrides[host] ?? {}).filter(([r]) => r !== rule),
      );
      const overrides = { ...current.host_overrides };
      if (Object.keys(rest).length) overrides[host] = rest;
      else delete overrides[host];
      return { rules: current.rules, host_overrides: overrides };
    });
  }

  private async changeRules(
    req: Request,
    res: Response,
    formErrors: Record<string, string[]>,
    ctx: CommandContext,
    done: string,
    next: (current: RuleConfiguration) => RuleConfiguration,
  ): Promise<void> {
    let errors = formErrors;
    if (!Object.keys(errors).length) {
      try {
        await this.alerts.setRules(next(this.alerts.ruleConfiguration()), ctx);
      } catch (err) {
        if (!isCodedError(err)) throw err;
        errors = fieldErrors(err);
      }
    }
    const ok = !Object.keys(errors).length;
    if (ok && !isHtmx(req)) return res.redirect(303, '/settings/alert-rules');
    res
      .status(ok || isHtmx(req) ? 200 : 400)
      .type('html')
      .setHeader('Cache-Control', 'no-store');
    res.send(await this.rulesPage(req, { errors, saved: ok ? done : null }, isHtmx(req)));
  }

  private async saveChannel(
    id: string | null,
    body: FormBody,
    ctx: CommandContext,
    req: Request,
    res: Response,
  ): Promise<void> {
    const kind = text(body, 'kind');
    const types = isChannelKind(kind)
      ? Object.fromEntries(CHANNEL_FIELDS[kind].map((f) => [f.name, f.type]))
      : {};
    const form = channelFromForm(body, types);
    let errors: Record<string, string[]> = {};
    let savedId = id;
    try {
      // The kind decides which settings exist; the rest (name, settings, routing) is checked by the service.
      if (!isChannelKind(kind))
        throw new AppError('invalid_input', `kind must be one of: ${CHANNEL_KINDS.join(', ')}`, {
          field: 'kind',
        });
      const input = { ...form.input, kind, routing: form.input.routing as ChannelRouting | undefined };
      savedId = (await this.alerts.configureChannel(input, ctx, id ?? undefined)).id;
    } catch (err) {
      if (!isCodedError(err)) throw err;
      errors = fieldErrors(err);
    }
    const ok = !Object.keys(errors).length;
    if (ok && !isHtmx(req)) return res.redirect(303, '/settings/notifications');
    const draft: ChannelDraft = {
      kind,
      name: form.input.name,
      settings: form.typed,
      routing: form.routingTyped,
    };
    const page = await this.presenter.notifications(
      new Date(),
      ok ? {} : { ...(id !== null ? { id } : {}), kind, draft },
    );
    res
      .status(ok || isHtmx(req) ? 200 : 400)
      .type('html')
      .setHeader('Cache-Control', 'no-store');
    const saved = ok ? { id: savedId, name: form.input.name } : null;
    res.send(
      isHtmx(req)
        ? this.renderer.partial(req, 'partials/notifications-main', { page, fmt, errors, saved, test: null })
        : this.notificationsPage(req, { page, errors, saved, test: null }),
    );
  }

  private notificationsPage(req: Request, data: Record<string, unknown>): string {
    return this.renderer.render(
      req,
      'notifications',
      { title: 'Notifications', active: 'settings' },
      { fmt, ...data },
    );
  }

  private async rulesPage(
    req: Request,
    data: { errors: Record<string, string[]>; saved: string | null },
    partial = false,
  ): Promise<string> {
    const page = await this.presenter.rules();
    const all = { page, fmt, ...data };
    return partial
      ? this.renderer.partial(req, 'partials/alert-rules-main', all)
      : this.renderer.render(req, 'alert-rules', { title: 'Alert rules', active: 'settings' }, all);
  }
}
