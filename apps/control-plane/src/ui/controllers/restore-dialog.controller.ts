import { Body, Controller, Get, Header, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { CommandContext } from '../../core/command-context';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import { QueryTextPipe } from '../../middleware/query-text.pipe';
import { RepositoryJobsService } from '../../services/repository-jobs.service';
import {
  RestoreDialogPresenter,
  resticLabel,
  type RestoreDialogModel,
  type RestoreValues,
} from '../presenters/restore-dialog.presenter';
import { fmt } from '../ui-fmt';
import { fieldErrors, isCodedError, jobArgsFromForm, jobFieldName, text, type FormBody } from '../ui-forms';
import { goTo, isHtmx } from '../ui-responses';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

const HTML = 'text/html; charset=utf-8';

type Errors = Record<string, string[]>;

/**
 * The restore dialog (docs/browse.md, "Restore"): a snapshot, or one folder of
 * it, onto any online host attached to the repository, with a dry-run preview
 * on restic 0.17+ and then the real restore, whose live job page it opens.
 * The browser opens it as a dialog; the host page shows the same form inline.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class RestoreDialogController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: RestoreDialogPresenter,
    private readonly jobs: RepositoryJobsService,
  ) {}

  @Get('ui/partials/repositories/:id/restore')
  @Roles('operator')
  @Header('Content-Type', HTML)
  async dialog(
    @Param('id', ParseIdPipe) repositoryId: string,
    @Query('snapshot', QueryTextPipe) snapshot: string | undefined,
    @Query('path', QueryTextPipe) path: string | undefined,
    @Req() req: Request,
  ): Promise<string> {
    const model = await this.presenter.load(repositoryId, snapshot ?? '', folderOf(path));
    return this.form(req, model, {}, null, false);
  }

  /** `action=preview` starts a dry run and shows its preview in the form; `action=start` restores and opens the job. */
  @Post('repositories/:id/restore')
  @Roles('operator')
  async submit(
    @Param('id', ParseIdPipe) repositoryId: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const values: RestoreValues = {
      target_host_id: text(body, 'target_host_id'),
      target: text(body, 'target'),
      include: text(body, 'include'),
      exclude: text(body, 'exclude'),
      overwrite: text(body, 'overwrite'),
    };
    const preview = text(body, 'action') === 'preview';
    const withSnapshots = text(body, 'choose_snapshot') === '1';
    const model = await this.presenter.load(
      repositoryId,
      text(body, 'snapshot_id'),
      folderOf(text(body, 'folder')),
      values,
    );
    const errors = this.refusals(model, values, preview);
    let previewJobId: string | null = null;
    if (!Object.keys(errors).length) {
      const args = jobArgsFromForm('restore', body);
      args['snapshot_id'] = model.snapshot.id;
      if (preview) args['dry_run'] = true;
      try {
        const jobId = await this.jobs.requestJob(repositoryId, 'restore', args, values.target_host_id, ctx);
        if (!preview) return goTo(req, res, `/jobs/${encodeURIComponent(jobId)}`);
        previewJobId = jobId;
      } catch (err) {
        if (!isCodedError(err)) throw err;
        Object.assign(errors, fieldErrors(err, restoreFieldName));
      }
    }
    const failed = Object.keys(errors).length > 0;
    res.status(failed && !isHtmx(req) ? 400 : 200).type('html');
    res.send(await this.formWith(req, model, errors, previewJobId, withSnapshots));
  }

  @Get('ui/partials/restore-preview/:job')
  @Roles('operator')
  @Header('Content-Type', HTML)
  async preview(@Param('job', ParseIdPipe) jobId: string, @Req() req: Request): Promise<string> {
    return this.renderer.partial(req, 'partials/restore-preview', {
      preview: await this.presenter.preview(jobId),
      fmt,
    });
  }

  /** What the dialog refuses before asking for a job: no host chosen, or an option the host's restic lacks. */
  private refusals(model: RestoreDialogModel, values: RestoreValues, preview: boolean): Errors {
    const errors: Errors = {};
    const host = model.targets.find((t) => t.id === values.target_host_id);
    if (!host) {
      errors['target_host_id'] = [
        model.targets.length
          ? 'choose one of the online hosts attached to this repository'
          : `no host attached to ${model.repository.name} is online`,
      ];
      return errors;
    }
    if (host.dryRun) return errors;
    const has = resticLabel(host.resticVersion);
    if (preview)
      errors['preview'] = [
        `${host.name} has ${has}; a dry-run preview needs restic ≥ 0.17 on the restoring host. Restore without a preview, or upgrade restic there.`,
      ];
    if (values.overwrite)
      errors['overwrite'] = [
        `${host.name} has ${has}; an overwrite policy needs restic ≥ 0.17 (leave it at restic's default)`,
      ];
    return errors;
  }

  private async formWith(
    req: Request,
    model: RestoreDialogModel,
    errors: Errors,
    previewJobId: string | null,
    withSnapshots: boolean,
  ): Promise<string> {
    const preview = previewJobId ? await this.presenter.preview(previewJobId) : null;
    return this.form(req, model, errors, preview, withSnapshots);
  }

  /** The form partial; `withSnapshots` adds the snapshot choice (the host page's inline form). */
  private async form(
    req: Request,
    model: RestoreDialogModel,
    errors: Errors,
    preview: Awaited<ReturnType<RestoreDialogPresenter['preview']>> | null,
    withSnapshots: boolean,
  ): Promise<string> {
    const snapshots = withSnapshots ? await this.presenter.snapshotsOf(model.repository.id) : null;
    return this.renderer.partial(req, 'partials/restore-form', {
      restore: model,
      errors,
      preview,
      snapshots,
      resticLabel,
      fmt,
    });
  }
}

/** A folder to limit the restore to; the snapshot's root means the whole snapshot. */
function folderOf(path: string | undefined): string | null {
  return path && path !== '/' ? path : null;
}

/** Catalog field names (`args.target`, `host_id`) → the form's field names. */
function restoreFieldName(field: string): string {
  const name = jobFieldName(field);
  return name === 'host_id' ? 'target_host_id' : name;
}
