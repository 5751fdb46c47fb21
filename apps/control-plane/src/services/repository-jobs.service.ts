import { FleetPresence } from './fleet-presence.service';
import { Injectable } from '@nestjs/common';
import type { JobKind } from '@rf/events';
import { AppError } from '../core/app-error';
import type { CommandContext } from '../core/command-context';
import { chooseHostForRepository, requireRepository } from '../domain/repository.rules';
import { FleetStateService } from './fleet-state.service';
import { JobCommandsService } from './jobs.service';

/**
 * `POST /api/repositories/{id}/jobs` (docs/repositories.md): a job on the
 * repository, run by the attached host the caller names or, when none is
 * named, by the one `chooseHostForRepository` picks among the online ones.
 * The job itself is requested like any other (JobCommandsService.requestJob).
 */
@Injectable()
export class RepositoryJobsService {
  constructor(
    private readonly fleet: FleetStateService,
    private readonly jobs: JobCommandsService,
    private readonly presence: FleetPresence,
  ) {}

  /** Requests the job; answers its id. A copy's host must be attached to both repositories. */
  async requestJob(
    repositoryId: string,
    kind: JobKind,
    rawArgs: Record<string, unknown>,
    hostId: string | undefined,
    ctx: CommandContext,
  ): Promise<string> {
    const repo = requireRepository(this.fleet.state, repositoryId);
    const to =
      kind === 'copy' && typeof rawArgs.to_repository_id === 'string' ? rawArgs.to_repository_id : undefined;
    if (hostId !== undefined) {
      await this.fleet.syncHost(hostId);
      const host = this.fleet.state.hosts.get(hostId);
      if (!host || host.revision < 0)
        throw new AppError('not_found', `host ${hostId} is not enrolled`, { field: 'host_id' });
    }
    const runOn = hostId ?? this.pickHost(repositoryId, to);
    if (runOn === null)
      throw new AppError(
        'conflict',
        repo.host_ids.length === 0
          ? `repository ${repo.name} has no attached host to run the job; attach one with POST /api/repositories/${repo.id}/hosts`
          : `no host attached to repository ${repo.name}${to !== undefined ? ' and to the destination' : ''} is online; name host_id to queue the job on one`,
        { field: 'host_id' },
      );
    return this.jobs.requestJob(runOn, kind, rawArgs, ctx, { repositoryId });
  }

  /** The host a job on the repository would run on now, or null when none qualifies (for the maintenance work too). */
  pickHost(repositoryId: string, alsoAttachedTo?: string): string | null {
    return chooseHostForRepository(this.fleet.state, repositoryId, {
      isOnline: (h) => this.presence.isOnline(h),
      ...(alsoAttachedTo !== undefined ? { alsoAttachedTo } : {}),
    });
  }
}
