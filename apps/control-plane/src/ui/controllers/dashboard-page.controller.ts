import { Controller, Get, Header, Req, UseFilters } from '@nestjs/common';
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
  async page(@Req() req: Request): Promise<string> {
    const overview = await this.presenter.overview(new Date());
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
  async live(@Req() req: Request): Promise<string> {
    const overview = await this.presenter.overview(new Date());
    return this.renderer.partial(req, 'partials/dashboard-live', { overview, fmt });
  }
}
