import { Controller, Get, Header, Query, Req, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { isId } from '@rf/events';
import { parseSince, type AuditLine } from '@rf/projections';
import { Roles } from '../../middleware/auth.decorators';
import { AppError } from '../../core/app-error';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { fmt } from '../ui-fmt';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const LIMIT = 500;
/** Lines read before a host filter narrows them (the host's streams plus its jobs' streams). */
const HOST_SCAN_LIMIT = 5000;

const param = (q: Record<string, unknown>, name: string): string => {
  const v = q[name];
  return typeof v === 'string' ? v.trim().slice(0, 200) : '';
};

/** `/audit`: who did what, from the log; filters by stream, host, job, actor and age. */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class AuditPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly reader: ReadModelsReader,
  ) {}

  @Get('audit')
  @Roles('operator')
  @Header('Content-Type', 'text/html; charset=utf-8')
  async page(@Query() q: Record<string, unknown>, @Req() req: Request): Promise<string> {
    const filters = {
      stream: param(q, 'stream'),
      host: param(q, 'host'),
      job: param(q, 'job'),
      actor: param(q, 'actor'),
      since: param(q, 'since'),
    };
    const errors: Record<string, string> = {};
    let since: Date | undefined;
    if (filters.since) {
      try {
        since = parseSince(filters.since, new Date());
      } catch (err) {
        errors['since'] = err instanceof Error ? err.message : 'not a time';
      }
    }
    for (const k of ['host', 'job'] as const) {
      if (filters[k] && !isId(filters[k]))
        errors[k] = `${k} must be an id of 1-128 characters [A-Za-z0-9._:-]`;
    }
    const models = await this.reader.fresh();
    let lines: AuditLine[] = [];
    if (!Object.keys(errors).length) {
      const stream = filters.job ? `job-${filters.job}` : filters.stream || undefined;
      try {
        lines = await models.audit.lines({
          ...(stream ? { stream } : {}),
          ...(since ? { since } : {}),
          ...(filters.actor ? { actor: filters.actor } : {}),
          limit: filters.host ? HOST_SCAN_LIMIT : LIMIT,
        });
      } catch (err) {
        if (err instanceof Error && 'code' in err) errors['stream'] = err.message;
        else throw err;
      }
      if (filters.host) {
        const id = filters.host;
        const jobStreams = new Set(models.jobs.list({ hostId: id, limit: 1000 }).map((j) => `job-${j.id}`));
        const own = new Set([`host-${id}`, `schedules-${id}`, `snapshots-${id}`]);
        lines = lines.filter((l) => own.has(l.stream) || jobStreams.has(l.stream)).slice(-LIMIT);
      }
    }
    const host = filters.host ? models.hosts.get(filters.host) : null;
    if (filters.host && !host && !errors['host'])
      throw new AppError('not_found', `host ${filters.host} does not exist`);
    return this.renderer.render(
      req,
      'audit',
      { title: 'Audit', active: 'audit' },
      {
        filters,
        errors,
        lines: [...lines].reverse(),
        hostName: host ? (host.hostname ?? host.id) : null,
        fmt,
        now: new Date(),
      },
    );
  }
}
