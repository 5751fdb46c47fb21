import { Controller, Get, Header, Param, Query, Req, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe } from '../../middleware/request-context';
import { RepositoriesPresenter } from '../presenters/repositories.presenter';
import { fmt } from '../ui-fmt';
import { jsonForScript } from '../ui-html';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const HTML = 'text/html; charset=utf-8';

/** The Repositories page (every repository, its hosts, size, maintenance, lock) and one repository's page. */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class RepositoriesPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: RepositoriesPresenter,
  ) {}

  @Get('repositories')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async page(@Req() req: Request): Promise<string> {
    return this.renderer.render(
      req,
      'repositories',
      { title: 'Repositories', active: 'repositories', charts: true },
      { ...(await this.listData()) },
    );
  }

  @Get('ui/partials/repositories')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async live(@Req() req: Request): Promise<string> {
    return this.renderer.partial(req, 'partials/repositories-live', await this.listData());
  }

  @Get('repositories/:id')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async detail(
    @Param('id', ParseIdPipe) id: string,
    @Query('secrets') secrets: unknown,
    @Req() req: Request,
  ): Promise<string> {
    const forms = await this.presenter.forms(id);
    return this.renderer.render(
      req,
      'repository',
      { title: forms.repo.name, active: 'repositories', charts: true },
      {
        ...forms,
        fmt,
        now: new Date(),
        sizeJson: jsonForScript(forms.repo.sizeSeries),
        // Registered, but its secrets were refused (the register form's second step).
        secretErrors:
          secrets === 'refused'
            ? { _form: ['The repository was registered but its secrets were not stored; set them below.'] }
            : {},
      },
    );
  }

  @Get('ui/partials/repositories/:id')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async detailLive(@Param('id', ParseIdPipe) id: string, @Req() req: Request): Promise<string> {
    const repo = await this.presenter.detail(id);
    return this.renderer.partial(req, 'partials/repository-live', { repo, fmt, now: new Date() });
  }

  private async listData() {
    const repositories = await this.presenter.list();
    return {
      repositories,
      fmt,
      now: new Date(),
      sizeJson: repositories.map((r) => jsonForScript(r.sizeSeries)),
    };
  }
}
