import { Controller, Get, Header, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { actorOf, Roles } from '../../middleware/auth.decorators';
import { roleSatisfies } from '../../core/actor';
import { csrfHiddenInput } from '../../middleware/auth.cookies';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import type { CommandContext } from '../../core/command-context';
import { JobCommandsService } from '../../services/jobs.service';
import { UiExceptionFilter } from '../ui-exception.filter';
import { jsonForScript } from '../ui-html';
import { fmt } from '../ui-fmt';
import { UiRenderer } from '../ui-renderer.service';
import { isCodedError } from '../ui-forms';
import { JobPagePresenter } from '../presenters/job-page.presenter';

/** Outcomes of the Cancel button, as fixed texts (nothing from the query string is echoed). */
const CANCEL_NOTES: Readonly<Record<string, string>> = {
  requested: 'Cancel requested; the agent stops the job.',
  finished: 'The job had already finished.',
  failed: 'The cancel could not be recorded; try again.',
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
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: JobPagePresenter,
    private readonly jobs: JobCommandsService,
  ) {}

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
    const body = this.renderer.view('job', {
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
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
