import { Injectable } from '@nestjs/common';
import { AppError } from '../core/app-error';
import { mapRepositoryResponse, mapSnapshot, type RepositoryResponse } from '../dtos/response-mappers';
import { ReadModelsReader } from '../repositories/read-models.reader';

/** Repositories as the read model sees them (docs/repositories.md). */
@Injectable()
export class RepositoryQueriesService {
  constructor(private readonly reader: ReadModelsReader) {}

  async list(): Promise<{ repositories: RepositoryResponse[] }> {
    const models = await this.reader.fresh();
    return { repositories: models.repositories.list().map(mapRepositoryResponse) };
  }

  async get(id: string): Promise<RepositoryResponse> {
    const models = await this.reader.fresh();
    const repo = models.repositories.get(id);
    if (!repo) throw new AppError('not_found', `repository ${id} does not exist`, { field: 'id' });
    return mapRepositoryResponse(repo);
  }

  /**
   * The repository's snapshots as last listed by any host (newest first);
   * with `hostId`, only those that host took (restic's hostname is the host's).
   */
  async snapshots(
    id: string,
    hostId?: string,
  ): Promise<{ repository_id: string; snapshots: Array<ReturnType<typeof mapSnapshot>> }> {
    const models = await this.reader.fresh();
    if (!models.repositories.get(id))
      throw new AppError('not_found', `repository ${id} does not exist`, { field: 'id' });
    let hostname: string | undefined;
    if (hostId !== undefined) {
      const host = models.hosts.get(hostId);
      if (!host) throw new AppError('not_found', `host ${hostId} is not enrolled`, { field: 'host' });
      hostname = host.hostname ?? hostId;
    }
    return { repository_id: id, snapshots: models.snapshots.forRepository(id, hostname).map(mapSnapshot) };
  }
}
