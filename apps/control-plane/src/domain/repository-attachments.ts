import { legacyRepositoryId } from '@rf/events';
import type { FleetState, JobState } from './fleet-state';

/*
 * What dispatch and the repository scheduler read about repositories, in one
 * place (docs/repositories.md): which repository a job works on, which hosts a
 * repository serves, and the names the wait reasons show.
 */

/** The repository a job works on: the one it names, else the host's own (the job predates repositories). */
export function jobRepositoryId(job: Pick<JobState, 'hostId' | 'repositoryId'>): string {
  return job.repositoryId ?? legacyRepositoryId(job.hostId);
}

/** Hosts attached to a repository, in the order they were attached; revoked hosts are not among them. */
export function attachedHosts(state: FleetState, repositoryId: string): readonly string[] {
  return state.repositories.repositories.get(repositoryId)?.host_ids ?? [];
}

/** The repository's name, for messages; undefined when it is not (or no longer) registered. */
export function repositoryName(state: FleetState, repositoryId: string): string | undefined {
  return state.repositories.repositories.get(repositoryId)?.name;
}
