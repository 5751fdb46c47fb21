import { Controller, Get, Header, Query, Req, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Roles } from '../../middleware/auth.decorators';
import { DashboardPresenter, outcomesChartData } from '../presenters/dashboard.presenter';
import { fmt } from '../ui-fmt';
import { jsonForScript } from '../ui-html';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class DashboardPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: DashboardPresenter,
  ) {}

  @Get()
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async page(@Query('page') page: unknown, @Req() req: Request): Promise<string> {
    const overview = await this.presenter.overview(new Date(), pageNumber(page));
    return this.renderer.render(
      req,
      'dashboard',
      { title: 'Fleet', active: 'dashboard', charts: true },
      { overview, fmt, chartJson: jsonForScript(outcomesChartData(overview.daily)) },
    );
  }

  @Get('ui/partials/dashboard')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async live(@Query('page') page: unknown, @Req() req: Request): Promise<string> {
    const overview = await this.presenter.overview(new Date(), pageNumber(page));
    return this.renderer.partial(req, 'partials/dashboard-live', { overview, fmt });
  }
}

/** `?page=N`: a whole number from 1; anything else is the first page (the presenter caps it at the last). */
function pageNumber(raw: unknown): number {
  const n = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : 1;
  return n >= 1 ? n : 1;
}
