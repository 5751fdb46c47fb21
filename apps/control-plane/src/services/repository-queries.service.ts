import { Injectable } from '@nestjs/common';
import { AppError } from '../core/app-error';
import { mapRepositoryResponse, type RepositoryResponse } from '../dtos/response-mappers';
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
}
