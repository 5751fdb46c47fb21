import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { isEventStoreError, type ExpectedRevision } from '@rf/event-store';
import {
  hostStream,
  isRepoUrl,
  legacyRepositoryId,
  makeEnvelope,
  repositoryStream,
  urlHasCredentials,
  type Envelope,
  type FleetEvent,
  type RepositoryState,
} from '@rf/events';
import { AppError } from '../core/app-error';
import {
  mapConfiguredRepository,
  mapRepositoryState,
  type ConfiguredRepositoryResponse,
  type RepositoryStateResponse,
} from '../dtos/response-mappers';
import { SecretBox } from '../core/secret-box';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter } from './fleet-event.writer';
import { type CommandContext } from '../core/command-context';
import { requireHost } from '../domain/require-host';
import type { FleetState, RepositoryFactsState } from '../domain/fleet-state';
import {
  defaultRepositoryOfHost,
  requireRepository,
  schedulesNamingRepository,
  unfinishedJobsOnRepository,
  usableRepositoriesOfHost,
} from '../domain/repository.rules';
import { KeyedMutex } from '../core/keyed-mutex';
import { MetricsRegistry } from '../core/metrics.registry';

export interface RepositorySecretsInput {
  readonly password: string;
  readonly username?: string;
  readonly credential?: string;
}

/** `PUT /api/hosts/{id}/repository`: a URL and its secrets in one. */
export interface RepositoryInput extends RepositorySecretsInput {
  readonly url: string;
}

export interface RepositoryDefinitionInput {
  readonly name: string;
  readonly url: string;
}

/** How often a decision is taken again after another writer moved the repository's stream under it. */
const MAX_DECISION_ATTEMPTS = 3;

/**
 * The repository aggregate's commands (docs/repositories.md): register,
 * change, set secrets, attach and detach hosts, remove — each decided on
 * FleetState and appended to `repository-{id}` at the exact revision it was
 * decided on. Secrets are sealed with the control plane's key before they
 * reach the log and opened only to build `config.update` for an attached
 * host's authenticated socket; every change that alters what a host may use
 * sends that host a fresh `config.update` listing all its repositories.
 */
@Injectable()
export class RepositoryCommandsService {
  private readonly logger = new Logger(RepositoryCommandsService.name);
  /** Per repository id: one decision at a time in this process. */
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly box: SecretBox,
    metrics: MetricsRegistry,
  ) {
    metrics.gauge(
      'rf_repository_size_bytes',
      'Size of each repository as last reported by an agent (restic stats)',
      () => this.repositoryGauge((f) => f.sizeBytes),
      ['repository_id', 'repository'],
    );
    metrics.gauge(
      'rf_repository_last_maintenance_age_seconds',
      'Time since a forget, prune or check last succeeded on each repository (absent: never)',
      () => {
        const now = Date.now();
        return this.repositoryGauge((f) =>
          f.lastMaintenanceAt === null ? null : Math.max(0, (now - f.lastMaintenanceAt) / 1000),
        );
      },
      ['repository_id', 'repository'],
    );
  }

  /** One gauge row per registered repository that has the fact. */
  private repositoryGauge(
    value: (facts: RepositoryFactsState) => number | null,
  ): Array<{ labels: Record<string, string>; value: number }> {
    const rows: Array<{ labels: Record<string, string>; value: number }> = [];
    const state = this.fleet.state;
    for (const repo of state.repositories.repositories.values()) {
      const facts = state.repositoryFacts.get(repo.id);
      const v = facts ? value(facts) : null;
      if (v !== null) rows.push({ labels: { repository_id: repo.id, repository: repo.name }, value: v });
    }
    return rows;
  }

  /** Registers a repository under a new id; its URL must hold no secret and must not be registered already. */
  async register(input: RepositoryDefinitionInput, ctx: CommandContext): Promise<RepositoryStateResponse> {
    checkRepositoryUrl(input.url);
    const id = randomUUID();
    await this.decide(id, ctx, () => {
      this.requireUrlFree(input.url, id);
      return [
        { type: 'RepositoryRegistered', data: { repository_id: id, name: input.name, url: input.url } },
      ];
    });
    return this.describe(id);
  }

  /** Renames the repository or points it at another URL (a repository moved to another server). */
  async update(
    id: string,
    input: RepositoryDefinitionInput,
    ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    checkRepositoryUrl(input.url);
    await this.decide(id, ctx, () => {
      const repo = requireRepository(this.fleet.state, id);
      this.requireUrlFree(input.url, id);
      if (repo.name === input.name && repo.url === input.url) return [];
      return [{ type: 'RepositoryChanged', data: { repository_id: id, name: input.name, url: input.url } }];
    });
    return this.describe(id);
  }

  /** Seals and stores the repository's secrets (replacing the previous ones whole). */
  async setSecrets(
    id: string,
    input: RepositorySecretsInput,
    ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    await this.decide(id, ctx, () => {
      requireRepository(this.fleet.state, id);
      return [
        {
          type: 'RepositorySecretsSet',
          data: {
            repository_id: id,
            password: this.box.seal(input.password),
            ...(input.username !== undefined ? { username: input.username } : {}),
            ...(input.credential !== undefined ? { credential: this.box.seal(input.credential) } : {}),
          },
        },
      ];
    });
    return this.describe(id);
  }

  /** Attaches an enrolled host; attaching one already attached changes nothing. */
  async attachHost(id: string, hostId: string, ctx: CommandContext): Promise<RepositoryStateResponse> {
    await this.fleet.syncHost(hostId);
    await this.decide(id, ctx, () => {
      const repo = requireRepository(this.fleet.state, id);
      const host = this.fleet.state.hosts.get(hostId);
      if (!host || host.revision < 0)
        throw new AppError('not_found', `host ${hostId} is not enrolled`, { field: 'host_id' });
      if (host.revoked)
        throw new AppError('host_revoked', `host ${hostId} has been revoked`, { field: 'host_id' });
      if (repo.host_ids.includes(hostId)) return [];
      return [{ type: 'RepositoryAttached', data: { repository_id: id, host_id: hostId } }];
    });
    return this.describe(id);
  }

  /** Detaches a host; refused while the host has jobs on the repository that have not finished. */
  async detachHost(id: string, hostId: string, ctx: CommandContext): Promise<RepositoryStateResponse> {
    await this.decide(id, ctx, () => {
      const repo = requireRepository(this.fleet.state, id);
      if (!repo.host_ids.includes(hostId))
        throw new AppError('not_found', `host ${hostId} is not attached to repository ${id}`, {
          field: 'hostId',
        });
      const busy = unfinishedJobsOnRepository(this.fleet.state, id).filter((j) => j.hostId === hostId);
      if (busy.length > 0)
        throw new AppError(
          'conflict',
          `host ${hostId} has ${describeJobs(busy)} on repository ${repo.name}; wait for them to finish or cancel them before detaching it`,
        );
      requireNoSchedules(this.fleet.state, repo, hostId);
      return [{ type: 'RepositoryDetached', data: { repository_id: id, host_id: hostId } }];
    });
    return this.describe(id);
  }

  /**
   * Removes the control plane's record of the repository (restic's data stays).
   * Refused while any job on it (as source or copy destination) is queued or running.
   */
  async remove(id: string, ctx: CommandContext): Promise<void> {
    await this.decide(id, ctx, () => {
      const repo = requireRepository(this.fleet.state, id);
      const busy = unfinishedJobsOnRepository(this.fleet.state, id);
      if (busy.length > 0)
        throw new AppError(
          'conflict',
          `repository ${repo.name} has ${describeJobs(busy)}; wait for them to finish or cancel them before removing it`,
        );
      requireNoSchedules(this.fleet.state, repo);
      return [{ type: 'RepositoryRemoved', data: { repository_id: id } }];
    });
  }

  /**
   * `PUT /api/hosts/{id}/repository`: sets the host's own repository (id
   * `legacyRepositoryId(hostId)`, named after the host) by appending
   * RepositoryConfigured to the host's stream, as before repositories were
   * first-class; `evolveRepositories` reads it as that repository's
   * registration or new URL, its secrets and the host's attachment.
   */
  async configure(
    hostId: string,
    input: RepositoryInput,
    ctx: CommandContext,
  ): Promise<ConfiguredRepositoryResponse> {
    await this.fleet.syncHost(hostId);
    requireHost(this.fleet.state, hostId);
    checkRepositoryUrl(input.url);
    const repositoryId = legacyRepositoryId(hostId);
    await this.locks.run(repositoryId, async () => {
      const host = requireHost(this.fleet.state, hostId);
      await this.writer.append(
        hostStream(hostId),
        [
          {
            type: 'RepositoryConfigured',
            data: {
              host_id: hostId,
              url: input.url,
              ...(input.username !== undefined ? { username: input.username } : {}),
              password: this.box.seal(input.password),
              ...(input.credential !== undefined ? { credential: this.box.seal(input.credential) } : {}),
            },
          },
        ],
        ctx,
        { expectedRevision: host.revision },
      );
    });
    return mapConfiguredRepository(input);
  }

  /**
   * Sends `config.update` to the host's socket if it is online and can use a
   * repository: every repository it is attached to that has a password,
   * the default one also in `repo_*` for agents that know only one.
   */
  pushConfig(hostId: string): boolean {
    const session = this.sessions.get(hostId);
    if (!session) return false;
    const envelope = this.configUpdate(hostId);
    return envelope ? session.send(envelope) : false;
  }

  /**
   * Runs one decision on the repository: under its lock, `decide` reads
   * FleetState and returns the events to append at the stream revision it
   * read; if another writer moved the stream meanwhile (an agent's stats
   * report, another node), the decision is taken again on the newer state.
   * The agents concerned get their new config from the node holding their
   * socket as it applies the events (OrderRoutingService).
   */
  private decide(id: string, ctx: CommandContext, decide: () => FleetEvent[]): Promise<void> {
    return this.locks.run(id, async () => {
      for (let attempt = 1; ; attempt++) {
        const events = decide();
        if (events.length === 0) return;
        const revision = this.fleet.state.repositoryRevisions.get(id);
        const expectedRevision: ExpectedRevision = revision ?? 'no_stream';
        try {
          await this.writer.append(repositoryStream(id), events, ctx, { expectedRevision });
        } catch (err) {
          if (!isEventStoreError(err, 'WrongExpectedVersion') || attempt >= MAX_DECISION_ATTEMPTS) {
            if (isEventStoreError(err, 'WrongExpectedVersion'))
              throw new AppError(
                'conflict',
                `repository ${id} kept changing while this change was decided; try again`,
              );
            throw err;
          }
          await this.fleet.syncStream(repositoryStream(id));
          continue;
        }
        return;
      }
    });
  }

  /** One URL, one repository: two records of one restic repository would defeat lock coordination. */
  private requireUrlFree(url: string, id: string): void {
    for (const r of this.fleet.state.repositories.repositories.values())
      if (r.id !== id && r.url === url)
        throw new AppError('conflict', `repository ${r.id} (${r.name}) already has this URL`, {
          field: 'url',
        });
  }

  private describe(id: string): RepositoryStateResponse {
    const repo = requireRepository(this.fleet.state, id);
    return mapRepositoryState(repo, (hostId) => this.fleet.state.hosts.get(hostId)?.hostname || null);
  }

  private configUpdate(hostId: string): Envelope<'config.update'> | null {
    const state = this.fleet.state;
    const fallback = defaultRepositoryOfHost(state, hostId);
    if (!fallback) return null;
    try {
      const access = (r: RepositoryState) => {
        const s = r.secrets!;
        return {
          repository_id: r.id,
          url: r.url,
          password: this.box.open(s.password),
          ...(s.username !== undefined ? { username: s.username } : {}),
          ...(s.credential !== undefined ? { credential: this.box.open(s.credential) } : {}),
        };
      };
      const main = access(fallback);
      return makeEnvelope('config.update', {
        repo_url: main.url,
        repo_password: main.password,
        ...(main.username !== undefined ? { repo_username: main.username } : {}),
        ...(main.credential !== undefined ? { repo_credential: main.credential } : {}),
        repository_id: main.repository_id,
        repositories: usableRepositoriesOfHost(state, hostId).map(access),
      });
    } catch (err) {
      // Never log the error's input: it may be the secret. The code says what went wrong.
      this.logger.error(
        { host_id: hostId, code: (err as { code?: unknown }).code },
        'cannot build config.update for host',
      );
      return null;
    }
  }
}

/** A URL a repository may be registered under: no embedded secret, a restic repository location. */
function checkRepositoryUrl(url: string): void {
  if (urlHasCredentials(url))
    throw new AppError(
      'invalid_input',
      'url must not embed a password; set it with PUT /api/repositories/{id}/secrets (or the password field)',
      { field: 'url' },
    );
  if (!isRepoUrl(url))
    throw new AppError('invalid_input', 'url must be a restic repository URL of at most 2048 characters', {
      field: 'url',
    });
}

/** A host schedule naming the repository would fire into nothing: it must be changed first. */
function requireNoSchedules(state: FleetState, repo: RepositoryState, hostId?: string): void {
  const named = schedulesNamingRepository(state, repo.id, hostId);
  if (named.length > 0)
    throw new AppError(
      'conflict',
      `schedules name repository ${repo.name} (host/schedule: ${named.slice(0, 5).join(', ')}${named.length > 5 ? ', …' : ''}); change them with PUT /api/hosts/{id}/schedules first`,
    );
}

function describeJobs(jobs: ReadonlyArray<{ jobId: string; kind: string; status: string }>): string {
  const shown = jobs.slice(0, 5).map((j) => `${j.kind} ${j.jobId} (${j.status})`);
  const more = jobs.length > shown.length ? ` and ${jobs.length - shown.length} more` : '';
  return `${jobs.length} unfinished job${jobs.length === 1 ? '' : 's'}: ${shown.join(', ')}${more}`;
}
