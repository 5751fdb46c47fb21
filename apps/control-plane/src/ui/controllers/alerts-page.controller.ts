import { Body, Controller, Get, Header, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { CommandContext } from '../../core/command-context';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import { AlertsService } from '../../services/alerts.service';
import { AlertsPresenter, type AlertFilterChoice } from '../presenters/alerts.presenter';
import { fmt } from '../ui-fmt';
import { fieldErrors, isCodedError, text, type FormBody } from '../ui-forms';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const HTML = 'text/html; charset=utf-8';

const filterOf = (q: FormBody): AlertFilterChoice => ({ host: text(q, 'host'), rule: text(q, 'rule') });

/** `/alerts`: open alerts first, then the history; operators acknowledge with a note. */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class AlertsPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: AlertsPresenter,
    private readonly alerts: AlertsService,
  ) {}

  @Get('alerts')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  async page(@Query() q: FormBody, @Req() req: Request): Promise<string> {
    const page = await this.presenter.page(filterOf(q), new Date());
    return this.renderer.render(
      req,
      'alerts',
      { title: 'Alerts', active: 'alerts' },
      { page, fmt, errors: {} },
    );
  }

  /** The top bar's number, refreshed by htmx. */
  @Get('ui/partials/alert-count')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  @Header('Cache-Control', 'no-store')
  count(@Req() req: Request): string {
    return this.renderer.partial(req, 'partials/alert-count', { count: this.renderer.openAlerts() });
  }

  @Post('alerts/:id/ack')
  @Roles('operator')
  async acknowledge(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    let errors: Record<string, string[]> = {};
    const note = text(body, 'note');
    try {
      await this.alerts.acknowledge(id, ctx, note === '' ? undefined : note);
    } catch (err) {
      if (!isCodedError(err)) throw err;
      errors = { [id]: Object.values(fieldErrors(err)).flat() };
    }
    const filter = filterOf(body);
    const htmx = req.headers['hx-request'] === 'true';
    if (!htmx && Object.keys(errors).length === 0) {
      const qs = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== '')).toString();
      return res.redirect(303, `/alerts${qs ? `?${qs}` : ''}`);
    }
    const page = await this.presenter.page(filter, new Date());
    res.status(htmx || Object.keys(errors).length === 0 ? 200 : 400).type('html');
    res.setHeader('Cache-Control', 'no-store');
    const data = { page, fmt, errors };
    res.send(
      htmx
        ? this.renderer.partial(req, 'partials/alerts-list', data)
        : this.renderer.render(req, 'alerts', { title: 'Alerts', active: 'alerts' }, data),
    );
  }
}
