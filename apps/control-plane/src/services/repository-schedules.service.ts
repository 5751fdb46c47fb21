import { Injectable } from '@nestjs/common';
import {
  checkClass,
  repositoryStream,
  RepositorySchedulesChangedData,
  type RepositorySchedule,
} from '@rf/events';
import { AppError } from '../core/app-error';
import type { CommandContext } from '../core/command-context';
import { invalidInput } from '../core/invalid-input';
import { KeyedMutex } from '../core/keyed-mutex';
import { FleetEventWriter } from './fleet-event.writer';
import { FleetStateService } from './fleet-state.service';

export interface RepositorySchedulesResponse {
  readonly repository_id: string;
  readonly version: number;
  readonly schedules: readonly RepositorySchedule[];
}

/**
 * A repository's own schedules (maintenance and copies; docs/repositories.md,
 * "Maintenance once per repository"): the versioned full list, replaced whole.
 * The control plane fires them itself (`RepositorySchedulerService`).
 */
@Injectable()
export class RepositorySchedulesService {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
  ) {}

  async get(repositoryId: string): Promise<RepositorySchedulesResponse> {
    await this.fleet.syncStream(repositoryStream(repositoryId));
    return this.current(repositoryId);
  }

  /** Replaces the list (version + 1). A copy's destination must be another registered repository. */
  async set(
    repositoryId: string,
    rawSchedules: unknown,
    ctx: CommandContext,
  ): Promise<RepositorySchedulesResponse> {
    await this.fleet.syncStream(repositoryStream(repositoryId));
    return this.locks.run(repositoryId, async () => {
      const now = this.current(repositoryId);
      const version = now.version + 1;
      const checked = checkClass(
        RepositorySchedulesChangedData,
        { repository_id: repositoryId, version, schedules: rawSchedules },
        '',
        { unknown: 'reject' },
      );
      if (!checked.ok) throw invalidInput(checked.issues);
      const schedules = checked.value.schedules;
      schedules.forEach((s, i) => {
        if (s.kind !== 'copy') return;
        const to = s.to_repository_id;
        const field = `schedules.${i}.to_repository_id`;
        if (to === undefined)
          throw new AppError('invalid_input', `${field} is required for a copy`, { field });
        if (to === repositoryId)
          throw new AppError('invalid_input', `${field} must name another repository`, { field });
        if (!this.fleet.state.repositories.repositories.has(to))
          throw new AppError('invalid_input', `${field}: repository ${to} does not exist`, { field });
      });
      const revision = this.fleet.state.repositoryRevisions.get(repositoryId);
      await this.writer.append(
        repositoryStream(repositoryId),
        [
          {
            type: 'RepositorySchedulesChanged',
            data: { repository_id: repositoryId, version, schedules },
          },
        ],
        ctx,
        // A repository that only a host's RepositoryConfigured stands for has no stream of its own yet.
        { expectedRevision: revision ?? 'no_stream' },
      );
      return this.current(repositoryId);
    });
  }

  private current(repositoryId: string): RepositorySchedulesResponse {
    const repo = this.fleet.state.repositories.repositories.get(repositoryId);
    if (!repo) throw new AppError('not_found', `repository ${repositoryId} does not exist`, { field: 'id' });
    return {
      repository_id: repositoryId,
      version: repo.schedules?.version ?? 0,
      schedules: repo.schedules?.schedules ?? [],
    };
  }
}
