import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { RepositoryResponse } from '../dtos/response-mappers';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe } from '../middleware/request-context';
import { RepositoryQueriesService } from '../services/repository-queries.service';
import { RepositorySnapshotsQueryDto } from '../dtos/repository.dtos';

/** Repositories and their attached hosts, as the read models see them. */
@ApiTags('repositories')
@Controller('api/repositories')
export class RepositoriesQueriesController {
  constructor(private readonly repositories: RepositoryQueriesService) {}

  @Get()
  @Roles('viewer')
  @ApiOkResponse({ description: 'Every repository with its attached hosts; secrets only as password_set.' })
  list(): Promise<{ repositories: RepositoryResponse[] }> {
    return this.repositories.list();
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOkResponse({ description: 'One repository with its attached hosts; secrets only as password_set.' })
  get(@Param('id', ParseIdPipe) id: string): Promise<RepositoryResponse> {
    return this.repositories.get(id);
  }

  @Get(':id/snapshots')
  @Roles('viewer')
  @ApiOkResponse({
    description: 'The repository’s snapshots as last listed, newest first; `host` keeps one host’s.',
  })
  snapshots(
    @Param('id', ParseIdPipe) id: string,
    @Query() query: RepositorySnapshotsQueryDto,
  ): ReturnType<RepositoryQueriesService['snapshots']> {
    return this.repositories.snapshots(id, query.host);
  }
}
