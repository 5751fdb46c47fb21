import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Eta } from 'eta';
import type { Request, Response } from 'express';
import { actorOf, csrfHiddenInput, Public, roleSatisfies, Roles } from '../../auth';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import type { CommandContext } from '../../services/fleet-event.writer';
import { JobCommandsService } from '../../services/jobs.service';
import { UiExceptionFilter } from '../ui-exception.filter';
import { jsonForScript } from '../ui-html';
import { fmt } from '../ui-fmt';
import { uiSourceDir } from '../../repositories/ui-assets.repository';
import { UiRenderer } from '../ui-renderer.service';
import { isCodedError } from '../ui-forms';
import { JobPagePresenter } from '../presenters/job-page.presenter';

/** Outcomes of the Cancel button, as fixed texts (nothing from the query string is echoed). */
const CANCEL_NOTES: Readonly<Record<string, string>> = {
  requested: 'Cancel requested; the agent stops the job.',
  finished: 'The job had already finished.',
  failed: 'The cancel could not be recorded; try again.',
};

/** The browser bundle (built by scripts/build-ui.js into dist/ui-assets) and the page's stylesheet. */
const ASSETS: Readonly<Record<string, { dir: 'dist' | 'source'; type: string }>> = {
  'live-log.js': { dir: 'dist', type: 'text/javascript; charset=utf-8' },
  'live-log.js.map': { dir: 'dist', type: 'application/json; charset=utf-8' },
  'job-page.css': { dir: 'source', type: 'text/css; charset=utf-8' },
};

/**
 * `/jobs/{id}`: one job, server-rendered from the read models (status,
 * progress, result, failure advice and the log), then kept live by
 * `live-log.js` over `/api/jobs/{id}/stream`.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class JobPageController {
  private readonly eta: Eta;
  private readonly pageDir = path.join(uiSourceDir(), 'job-page');

  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: JobPagePresenter,
    private readonly jobs: JobCommandsService,
  ) {
    this.eta = new Eta({
      views: path.join(this.pageDir, 'views'),
      autoEscape: true,
      cache: process.env.NODE_ENV === 'production',
      autoTrim: false,
    });
  }

  @Get('jobs/:id')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  async page(
    @Param('id', ParseIdPipe) id: string,
    @Query('cancel') cancel: unknown,
    @Req() req: Request,
  ): Promise<string> {
    const actor = actorOf(req);
    const canOperate = actor?.role !== undefined && roleSatisfies(actor.role, 'operator');
    const m = await this.presenter.model(id, canOperate);
    const note = typeof cancel === 'string' ? (CANCEL_NOTES[cancel] ?? null) : null;
    const body = this.eta.render('job', {
      m,
      note,
      fmt,
      now: new Date(),
      csrfInput: csrfHiddenInput(req),
      bootJson: jsonForScript(m.boot),
    });
    return this.renderer.page(
      req,
      {
        title: `${m.job.kind ?? 'Job'} ${m.job.id.slice(0, 8)}`,
        active: 'jobs',
        scripts: ['/ui/assets/live-log.js'],
        styles: ['/ui/assets/job-page.css'],
      },
      (note ? `<p class="notice info" role="status">${escapeHtml(note)}</p>` : '') + body,
    );
  }

  @Post('jobs/:id/cancel')
  @Roles('operator')
  async cancel(
    @Param('id', ParseIdPipe) id: string,
    @RequestContext() ctx: CommandContext,
    @Res() res: Response,
  ): Promise<void> {
    let outcome = 'requested';
    try {
      await this.jobs.cancelJob(id, ctx);
    } catch (err) {
      if (!isCodedError(err)) throw err;
      outcome = (err as { code: string }).code === 'job_finished' ? 'finished' : 'failed';
    }
    res.redirect(303, `/jobs/${encodeURIComponent(id)}?cancel=${outcome}`);
  }

  @Get('ui/assets/:file')
  @Public()
  asset(@Param('file') file: string, @Res() res: Response): void {
    const asset = ASSETS[file];
    if (!asset) throw new NotFoundException();
    const full =
      asset.dir === 'source' ? path.join(this.pageDir, file) : path.join(uiAssetsDir(this.pageDir), file);
    if (!fs.existsSync(full)) throw new NotFoundException();
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    fs.createReadStream(full).pipe(res);
  }
}

/** dist/ui-assets at the repository root (the source tree's ui dir is apps/control-plane/src/ui). */
function uiAssetsDir(pageDir: string): string {
  return path.join(pageDir, '..', '..', '..', '..', '..', 'dist', 'ui-assets');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
