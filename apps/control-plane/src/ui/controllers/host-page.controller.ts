import { Body, Controller, Get, Header, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { JOB_KINDS, KEEP_RULES, legacyRepositoryId, type JobKind } from '@rf/events';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import type { CommandContext } from '../../core/command-context';
import { JobCommandsService } from '../../services/jobs.service';
import { RepositoryCommandsService } from '../../services/repository.service';
import { ScheduleCommandsService } from '../../services/schedules.service';
import { AppError } from '../../core/app-error';
import { editorRow, HostPagePresenter } from '../presenters/host-page.presenter';
import { RestoreDialogPresenter, resticLabel } from '../presenters/restore-dialog.presenter';
import { AgentUpdatesService } from '../../services/agent-updates.service';
import { fmt } from '../ui-fmt';
import { cronText, nextRun } from '../ui-format';
import {
  fieldErrors,
  isCodedError,
  jobArgsFromForm,
  jobFieldName,
  scheduleFieldOf,
  schedulesFromForm,
  text,
  type FormBody,
  urlForDraft,
} from '../ui-forms';
import { jsonForScript } from '../ui-html';
import { goTo, isHtmx } from '../ui-responses';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const HTML = 'text/html; charset=utf-8';

/** The host page and its forms: repository, schedules, and "run a job now". */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class HostPageController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: HostPagePresenter,
    private readonly jobs: JobCommandsService,
    private readonly repository: RepositoryCommandsService,
    private readonly schedules: ScheduleCommandsService,
    private readonly updates: AgentUpdatesService,
    private readonly restore: RestoreDialogPresenter,
  ) {}

  /** The Update button: offers the served agent to this host's agent now. */
  @Post('hosts/:id/agent-update')
  @Roles('operator')
  async updateAgent(
    @Param('id', ParseIdPipe) id: string,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    let message: string;
    try {
      const { version } = await this.updates.request(id, ctx);
      message = `Offered agent ${version}. A host whose agent.yaml has auto_update: true installs it and reconnects with it within a minute or two; otherwise run the install line again on the host.`;
    } catch (err) {
      if (!isCodedError(err)) throw err;
      message = err.message;
    }
    if (!isHtmx(req)) return res.redirect(303, `/hosts/${encodeURIComponent(id)}`);
    res.type('html').send(this.renderer.view('partials/note', { message }));
  }

  @Get('hosts/:id')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async page(@Param('id', ParseIdPipe) id: string, @Req() req: Request): Promise<string> {
    const page = await this.presenter.load(id, new Date());
    return this.renderer.render(
      req,
      'host',
      { title: page.name, active: 'dashboard', charts: true, scripts: ['/ui/static/browse.js'] },
      {
        page,
        fmt,
        sizeJson: jsonForScript(page.repositories.sizeChart?.series ?? { x: [], y: [] }),
        repoErrors: {},
        repoSaved: false,
        scheduleErrors: {},
        scheduleSaved: null,
        ...(await this.restoreFormData(id)),
      },
    );
  }

  /**
   * The restore form alone. A host page opened before the first snapshot was
   * known shows a placeholder that asks for this every 5 s until it gets the form.
   * Declared before `:part` so that route does not take it.
   */
  @Get('ui/partials/hosts/:id/restore')
  @Roles('operator')
  @Header('Content-Type', HTML)
  async restoreForm(@Param('id', ParseIdPipe) id: string, @Req() req: Request): Promise<string> {
    const page = await this.presenter.restoreChoices(id);
    return this.renderer.partial(req, 'partials/host-restore', {
      page,
      fmt,
      ...(await this.restoreFormData(id)),
    });
  }

  /** The host page's restore form: the newest snapshot of its repository, onto this host by default; null before the first. */
  private async restoreFormData(hostId: string) {
    const newest = (await this.presenter.restoreChoices(hostId)).snapshots[0];
    if (!newest) return { restore: null, restoreSnapshots: [], resticLabel };
    const repositoryId = newest.repositoryId ?? legacyRepositoryId(hostId);
    const restore = await this.restore.load(repositoryId, newest.id, null, { target_host_id: hostId });
    return { restore, restoreSnapshots: await this.restore.snapshotsOf(repositoryId), resticLabel };
  }

  @Get('ui/partials/hosts/:id/:part')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  async live(
    @Param('id', ParseIdPipe) id: string,
    @Param('part') part: string,
    @Req() req: Request,
  ): Promise<string> {
    if (part !== 'facts' && part !== 'activity') throw new AppError('not_found', `no partial ${part}`);
    const page = await this.presenter.load(id, new Date());
    return this.renderer.partial(req, `partials/host-${part}`, { page, fmt });
  }

  /** Live preview next to a cron field. */
  @Get('ui/cron-preview')
  @Roles('viewer')
  @Header('Content-Type', HTML)
  cronPreview(@Query() q: Record<string, unknown>, @Req() req: Request): string {
    const raw = Object.entries(q).find(([k]) => k === 'cron' || /\[cron\]$/.test(k))?.[1];
    const cron = typeof raw === 'string' ? raw.trim() : '';
    const now = new Date();
    const next = cron ? nextRun(cron, now) : null;
    return this.renderer.partial(req, 'partials/cron-preview', {
      cron,
      text: cron ? cronText(cron) : null,
      next: next ? fmt.timestamp(next.toISOString()) : null,
    });
  }

  @Post('hosts/:id/repository')
  @Roles('operator')
  async configureRepository(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    let errors: Record<string, string[]> = {};
    const input = {
      url: text(body, 'url'),
      password: text(body, 'password'),
      ...(text(body, 'username') ? { username: text(body, 'username') } : {}),
      ...(text(body, 'credential') ? { credential: text(body, 'credential') } : {}),
    };
    if (!input.url) errors['url'] = ['url: enter the repository URL, e.g. sftp:backup@nas:/srv/restic/web-1'];
    if (!input.password)
      errors['password'] = [
        'password: enter the repository password (it is stored encrypted and never shown back)',
      ];
    if (!Object.keys(errors).length) {
      try {
        await this.repository.configure(id, input, ctx);
      } catch (err) {
        if (!isCodedError(err)) throw err;
        errors = fieldErrors(err);
      }
    }
    const saved = !Object.keys(errors).length;
    if (!isHtmx(req) && saved) return res.redirect(303, `/hosts/${encodeURIComponent(id)}#repository`);
    const page = await this.presenter.load(id, new Date());
    res.status(saved || isHtmx(req) ? 200 : 400).type('html');
    res.send(
      this.renderer.partial(req, 'partials/host-repository', {
        page,
        fmt,
        repoErrors: errors,
        repoSaved: saved,
        // A failed save keeps what was typed, except secrets.
        draft: saved ? null : { url: urlForDraft(input.url), username: input.username ?? '' },
      }),
    );
  }

  @Post('hosts/:id/schedules')
  @Roles('operator')
  async putSchedules(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { schedules, rowOf } = schedulesFromForm(body);
    const rowErrors: Record<string, Record<string, string[]>> = {};
    let version: number | null = null;
    try {
      version = await this.schedules.setSchedules(id, schedules, ctx);
    } catch (err) {
      if (!isCodedError(err)) throw err;
      for (const [field, msgs] of Object.entries(fieldErrors(err))) {
        const at = scheduleFieldOf(field, rowOf);
        const key = at.row === null ? '_form' : String(at.row);
        ((rowErrors[key] ??= {})[at.field] ??= []).push(...msgs);
      }
    }
    if (!isHtmx(req) && version !== null)
      return res.redirect(303, `/hosts/${encodeURIComponent(id)}#schedules`);
    const now = new Date();
    const page = await this.presenter.load(id, now);
    // On errors the editor shows what was submitted, so nothing typed is lost.
    const rows = version === null ? this.submittedRows(body, now) : page.rows;
    res.status(version !== null || isHtmx(req) ? 200 : 400).type('html');
    res.send(
      this.renderer.partial(req, 'partials/host-schedules', {
        page: { ...page, rows },
        fmt,
        scheduleErrors: rowErrors,
        scheduleSaved: version,
      }),
    );
  }

  @Post('hosts/:id/jobs')
  @Roles('operator')
  async runJob(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const kind = text(body, 'kind');
    let errors: Record<string, string[]>;
    if (!(JOB_KINDS as readonly string[]).includes(kind)) {
      errors = { kind: [`kind must be one of ${JOB_KINDS.join(', ')}`] };
    } else {
      try {
        const repositoryId = text(body, 'repository_id');
        const jobId = await this.jobs.requestJob(
          id,
          kind as JobKind,
          jobArgsFromForm(kind as JobKind, body),
          ctx,
          repositoryId ? { repositoryId } : {},
        );
        const target = `/jobs/${encodeURIComponent(jobId)}`;
        goTo(req, res, target);
        return;
      } catch (err) {
        if (!isCodedError(err)) throw err;
        errors = fieldErrors(err, jobFieldName);
      }
    }
    res.status(isHtmx(req) ? 200 : 400).type('html');
    res.send(this.renderer.partial(req, 'partials/form-errors', { errors }));
  }

  private submittedRows(body: FormBody, now: Date) {
    const raw = body['s'];
    const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
    return list
      .filter((r): r is FormBody => typeof r === 'object' && r !== null)
      .map((r, i) => {
        const enabled = r['enabled'];
        const asSchedule: Record<string, unknown> = {
          id: text(r, 'id'),
          kind: text(r, 'kind'),
          repository_id: text(r, 'repository_id'),
          cron: text(r, 'cron'),
          enabled: Array.isArray(enabled) ? enabled.includes('on') : enabled === 'on',
          paths: text(r, 'paths').split(/\r?\n/),
          excludes: text(r, 'excludes').split(/\r?\n/),
          tags: text(r, 'tags').split(','),
          pre_hook: text(r, 'pre_hook'),
          post_hook: text(r, 'post_hook'),
          hook_timeout_s: text(r, 'hook_timeout_s'),
          retention: Object.fromEntries(KEEP_RULES.map((k) => [k, text(r, k)]).filter(([, v]) => v !== '')),
        };
        return editorRow(asSchedule, i, now, text(r, 'new') === '1');
      });
  }
}
