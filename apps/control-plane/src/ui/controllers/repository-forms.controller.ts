import { Body, Controller, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { isJobKind, type JobKind } from '@rf/events';
import { Roles } from '../../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../../middleware/request-context';
import type { CommandContext } from '../../core/command-context';
import {
  RepositoryCommandsService,
  type RepositoryDefinitionInput,
  type RepositorySecretsInput,
} from '../../services/repository.service';
import { RepositoryJobsService } from '../../services/repository-jobs.service';
import { RepositoriesPresenter, RUN_KINDS } from '../presenters/repositories.presenter';
import { fmt } from '../ui-fmt';
import {
  dtoFieldErrors,
  fieldErrors,
  isCodedError,
  jobArgsFromForm,
  jobFieldName,
  text,
  type FormBody,
  urlForDraft,
} from '../ui-forms';
import { RepositoryDefinitionDto, RepositorySecretsDto } from '../../dtos/repository.dtos';
import { goTo, isHtmx } from '../ui-responses';
import { UiExceptionFilter } from '../ui-exception.filter';
import { UiRenderer } from '../ui-renderer.service';

type Errors = Record<string, string[]>;

/** Secrets from a form, checked like the REST route's body; optional fields only when filled in. Never echoed back. */
function secretsOf(body: FormBody): { input: RepositorySecretsInput; errors: Errors } {
  const input = {
    password: text(body, 'password'),
    ...(text(body, 'username') ? { username: text(body, 'username') } : {}),
    ...(text(body, 'credential') ? { credential: text(body, 'credential') } : {}),
  };
  return { input, errors: dtoFieldErrors(RepositorySecretsDto, input) };
}

function definitionOf(body: FormBody): { input: RepositoryDefinitionInput; errors: Errors } {
  const input = { name: text(body, 'name'), url: text(body, 'url') };
  return { input, errors: dtoFieldErrors(RepositoryDefinitionDto, input) };
}

/** What a refused form shows again: never a URL with a password in it (the service refuses those). */
const draftOf = (input: RepositoryDefinitionInput): RepositoryDefinitionInput => ({
  name: input.name,
  url: urlForDraft(input.url),
});

type Outcome<T> =
  { readonly value: T; readonly errors: null } | { readonly value: null; readonly errors: Errors };

/** Runs a command; a coded error becomes per-field messages (`_form` without a field), anything else is thrown. */
async function attempt<T>(run: () => Promise<T>, rename?: (field: string) => string): Promise<Outcome<T>> {
  try {
    return { value: await run(), errors: null };
  } catch (err) {
    if (!isCodedError(err)) throw err;
    return { value: null, errors: fieldErrors(err, rename) };
  }
}

/** The errors of an outcome, or none. */
const errorsOf = (o: Outcome<unknown>): Errors => o.errors ?? {};

const none = (errors: Errors): boolean => Object.keys(errors).length === 0;

/**
 * The Repositories page's forms (operators; removal by admins): register,
 * rename or move, replace secrets, attach and detach hosts, run a job,
 * remove. Each calls the repository services the REST routes call
 * (docs/repositories.md) and answers with the form's section again, or the
 * page it leads to.
 */
@ApiExcludeController()
@UseFilters(UiExceptionFilter)
@Controller()
export class RepositoryFormsController {
  constructor(
    private readonly renderer: UiRenderer,
    private readonly presenter: RepositoriesPresenter,
    private readonly commands: RepositoryCommandsService,
    private readonly jobs: RepositoryJobsService,
  ) {}

  @Post('repositories')
  @Roles('operator')
  async register(
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const def = definitionOf(body);
    const sec = secretsOf(body);
    let errors: Errors = { ...def.errors, ...sec.errors };
    if (none(errors)) {
      const registered = await attempt(() => this.commands.register(def.input, ctx));
      errors = errorsOf(registered);
      if (registered.value) {
        const id = registered.value.id;
        // Registered: the secrets go on next; a refusal there is said on the repository's own page.
        const stored = await attempt(() => this.commands.setSecrets(id, sec.input, ctx));
        const target = `/repositories/${encodeURIComponent(id)}${stored.errors ? '?secrets=refused' : ''}`;
        goTo(req, res, target);
        return;
      }
    }
    res.status(isHtmx(req) ? 200 : 400).type('html');
    res.send(
      this.renderer.partial(req, 'partials/repository-register', {
        registerErrors: errors,
        registerDraft: { ...draftOf(def.input), username: sec.input.username ?? '' },
      }),
    );
  }

  @Post('repositories/:id/edit')
  @Roles('operator')
  async edit(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const def = definitionOf(body);
    const errors = none(def.errors)
      ? errorsOf(await attempt(() => this.commands.update(id, def.input, ctx)))
      : def.errors;
    await this.section(req, res, id, 'partials/repository-settings', errors, {
      editErrors: errors,
      editSaved: none(errors),
      editDraft: none(errors) ? null : draftOf(def.input),
    });
  }

  @Post('repositories/:id/secrets')
  @Roles('operator')
  async secrets(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const sec = secretsOf(body);
    const errors = none(sec.errors)
      ? errorsOf(await attempt(() => this.commands.setSecrets(id, sec.input, ctx)))
      : sec.errors;
    await this.section(req, res, id, 'partials/repository-settings', errors, {
      secretErrors: errors,
      secretSaved: none(errors),
    });
  }

  @Post('repositories/:id/hosts')
  @Roles('operator')
  async attach(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const hostId = text(body, 'host_id');
    const errors = hostId
      ? errorsOf(await attempt(() => this.commands.attachHost(id, hostId, ctx)))
      : { host_id: ['host_id: choose a host'] };
    await this.section(req, res, id, 'partials/repository-attach', errors, {
      attachErrors: errors,
      attachNote: none(errors) ? 'Host attached; it gets the repository with its next configuration.' : null,
    });
  }

  @Post('repositories/:id/hosts/:hostId/detach')
  @Roles('operator')
  async detach(
    @Param('id', ParseIdPipe) id: string,
    @Param('hostId', ParseIdPipe) hostId: string,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const errors = errorsOf(await attempt(() => this.commands.detachHost(id, hostId, ctx)));
    await this.section(req, res, id, 'partials/repository-attach', errors, {
      attachErrors: errors,
      attachNote: none(errors) ? 'Host detached.' : null,
    });
  }

  @Post('repositories/:id/jobs')
  @Roles('operator')
  async runJob(
    @Param('id', ParseIdPipe) id: string,
    @Body() body: FormBody,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const kind = text(body, 'kind');
    const hostId = text(body, 'host_id') || undefined;
    let errors: Errors = { kind: [`kind must be one of ${RUN_KINDS.join(', ')}`] };
    let jobId: string | null = null;
    if (isJobKind(kind) && (RUN_KINDS as readonly string[]).includes(kind)) {
      const args = this.argsOf(kind, body);
      const requested = await attempt(() => this.jobs.requestJob(id, kind, args, hostId, ctx), jobFieldName);
      errors = errorsOf(requested);
      jobId = requested.value;
    }
    if (jobId !== null) {
      const target = `/jobs/${encodeURIComponent(jobId)}`;
      goTo(req, res, target);
      return;
    }
    res.status(isHtmx(req) ? 200 : 400).type('html');
    res.send(this.renderer.partial(req, 'partials/form-errors', { errors }));
  }

  @Post('repositories/:id/remove')
  @Roles('admin')
  async remove(
    @Param('id', ParseIdPipe) id: string,
    @RequestContext() ctx: CommandContext,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const errors = errorsOf(await attempt(() => this.commands.remove(id, ctx)));
    if (none(errors)) {
      goTo(req, res, '/repositories');
      return;
    }
    res.status(isHtmx(req) ? 200 : 409).type('html');
    res.send(this.renderer.partial(req, 'partials/form-errors', { errors }));
  }

  private argsOf(kind: JobKind, body: FormBody): Record<string, unknown> {
    if (kind !== 'copy') return jobArgsFromForm(kind, body);
    const to = text(body, 'to_repository_id');
    return to ? { to_repository_id: to } : {};
  }

  /** Answers with a form's section, re-read after the command; a full page load follows a plain form post. */
  private async section(
    req: Request,
    res: Response,
    id: string,
    view: string,
    errors: Errors,
    data: object,
  ): Promise<void> {
    if (!isHtmx(req) && none(errors)) return res.redirect(303, `/repositories/${encodeURIComponent(id)}`);
    const page = await this.presenter.forms(id);
    res.status(none(errors) || isHtmx(req) ? 200 : 400).type('html');
    res.send(this.renderer.partial(req, view, { ...page, fmt, now: new Date(), ...data }));
  }
}
