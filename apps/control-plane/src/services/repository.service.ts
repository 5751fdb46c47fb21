import { Inject, Injectable, Logger } from '@nestjs/common';
import { hostStream, isRepoUrl, makeEnvelope, urlHasCredentials, type Envelope } from '@rf/events';
import { AppError } from '../core/app-error';
import { mapConfiguredRepository, type ConfiguredRepositoryResponse } from '../dtos/response-mappers';
import { SecretBox } from '../core/secret-box';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter } from './fleet-event.writer';
import { type CommandContext } from '../core/command-context';
import { requireHost } from '../domain/require-host';
import { KeyedMutex } from '../core/keyed-mutex';

export interface RepositoryInput {
  readonly url: string;
  readonly password: string;
  readonly username?: string;
  readonly credential?: string;
}

/**
 * A host's restic repository. Secrets are sealed with the control plane's key
 * before they reach the log and opened only to build `config.update` for that
 * host's authenticated socket.
 */
@Injectable()
export class RepositoryCommandsService {
  private readonly logger = new Logger(RepositoryCommandsService.name);
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly box: SecretBox,
  ) {}

  /** Seals the secrets into RepositoryConfigured and pushes `config.update`; answers what was stored, secrets as set / not set. */
  async configure(
    hostId: string,
    input: RepositoryInput,
    ctx: CommandContext,
  ): Promise<ConfiguredRepositoryResponse> {
    await this.fleet.syncHost(hostId);
    requireHost(this.fleet.state, hostId);
    if (urlHasCredentials(input.url)) {
      throw new AppError('invalid_input', 'url must not embed a password; pass it in the password field', {
        field: 'url',
      });
    }
    if (!isRepoUrl(input.url))
      throw new AppError('invalid_input', 'url must be a restic repository URL of at most 2048 characters', {
        field: 'url',
      });
    await this.locks.run(hostId, async () => {
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
    this.pushConfig(hostId);
    return mapConfiguredRepository(input);
  }

  /** Sends `config.update` to the host's socket if it is online and a repository is configured. */
  pushConfig(hostId: string): boolean {
    const session = this.sessions.get(hostId);
    if (!session) return false;
    const envelope = this.configUpdate(hostId);
    return envelope ? session.send(envelope) : false;
  }

  private configUpdate(hostId: string): Envelope<'config.update'> | null {
    const repo = this.fleet.state.hosts.get(hostId)?.repository;
    if (!repo) return null;
    try {
      return makeEnvelope('config.update', {
        repo_url: repo.url,
        repo_password: this.box.open(repo.password),
        ...(repo.username !== undefined ? { repo_username: repo.username } : {}),
        ...(repo.credential !== undefined ? { repo_credential: this.box.open(repo.credential) } : {}),
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
