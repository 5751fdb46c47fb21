import { Controller, Get, Header, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { JOB_KINDS, JOB_STATUSES } from '@rf/events';
import { Roles } from '../../middleware/auth.decorators';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import type { CommandContext } from '../../core/command-context';
import { JobCommandsService } from '../../services/jobs.service';
import { isCodedError } from '../ui-forms';
import { fmt } from '../ui-fmt';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

interface JobFilters {
  host: string;
  status: string;
  kind: string;
}

const pick = (v: unknown, allowed?: readonly string[]): string => {
  if (typeof v !== 'string' || v === '' || v.length > 128) return '';
  return !allowed || allowed.includes(v) ? v : '';
};

/** `/jobs`: every job, newest first, filtered by host, status and kind. */
/** Hosts offered in the filter's list; past this the filter is a host id field. */
const HOST_CHOICES = 500;

@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class JobsListPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly reader: ReadModelsReader,
    private readonly jobs: JobCommandsService,
  ) {}

  /** The jobs tables' Cancel button; the job page has its own. */
  @Post('ui/jobs/:id/cancel')
  @Roles('operator')
  async cancel(
    @Param('id', ParseIdPipe) id: string,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    let message: string;
    try {
      const status = await this.jobs.cancelJob(id, ctx);
      message = status === 'cancelled' ? 'cancelled' : 'cancelling…';
    } catch (err) {
      if (!isCodedError(err)) throw err;
      message = err.message;
    }
    if (req.headers['hx-request'] !== 'true') return res.redirect(303, '/jobs');
    res.type('html').send(this.renderer.view('partials/note', { message }));
  }

  @Get('jobs')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async page(@Query() q: Record<string, unknown>, @Req() req: Request): Promise<string> {
    const data = await this.data(q);
    return this.renderer.render(req, 'jobs', { title: 'Jobs', active: 'jobs' }, data);
  }

  @Get('ui/partials/jobs')
  @Roles('viewer')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async live(@Query() q: Record<string, unknown>, @Req() req: Request): Promise<string> {
    return this.renderer.partial(req, 'partials/jobs-live', await this.data(q));
  }

  private async data(q: Record<string, unknown>) {
    const filters: JobFilters = {
      host: pick(q['host']),
      status: pick(q['status'], JOB_STATUSES),
      kind: pick(q['kind'], JOB_KINDS),
    };
    const models = await this.reader.fresh();
    // Up to HOST_CHOICES hosts are offered in a list; a larger fleet gets a host id field, so the
    // page costs the same with 10 hosts or 10,000.
    const hosts = models.hosts.count() <= HOST_CHOICES ? models.hosts.list() : null;
    const jobs = models.jobs.list({
      ...(filters.host ? { hostId: filters.host } : {}),
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.kind ? { kind: filters.kind } : {}),
      limit: 200,
    });
    const query = new URLSearchParams(
      Object.entries(filters).filter(([, v]) => v !== '') as Array<[string, string]>,
    ).toString();
    return {
      filters,
      query,
      jobs,
      hosts,
      hostNames: Object.fromEntries(
        [...new Set(jobs.map((j) => j.hostId).filter((id): id is string => id !== null))].map((id) => [
          id,
          models.hosts.get(id)?.hostname ?? id,
        ]),
      ),
      statuses: JOB_STATUSES,
      kinds: JOB_KINDS,
      now: new Date(),
      fmt,
    };
  }
}
