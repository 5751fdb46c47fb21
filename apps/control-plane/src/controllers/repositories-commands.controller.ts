import { Body, Controller, Delete, HttpCode, HttpStatus, Param, Post, Put } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '../middleware/auth.decorators';
import type { CommandContext } from '../core/command-context';
import { RepositoryCommandsService } from '../services/repository.service';
import { RepositoryJobsService } from '../services/repository-jobs.service';
import { AttachHostDto, RepositoryDefinitionDto, RepositorySecretsDto } from '../dtos/repository.dtos';
import { CreateRepositoryJobDto, JobCreatedDto, jobArgsOf, placementOf } from '../dtos/job.dtos';
import type { RepositoryStateResponse } from '../dtos/response-mappers';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';

const ANSWER =
  'The repository as stored: URL without credentials, secrets only as set / not set, attached hosts.';

/**
 * Operator orders about repositories (docs/repositories.md). Operators manage
 * them as they manage a host's repository; only an admin removes one, as only
 * an admin removes a host.
 */
@ApiTags('repositories')
@Controller('api/repositories')
export class RepositoriesCommandsController {
  constructor(
    private readonly repositories: RepositoryCommandsService,
    private readonly jobs: RepositoryJobsService,
  ) {}

  @Post()
  @Roles('operator')
  @ApiCreatedResponse({ description: ANSWER })
  register(
    @Body() dto: RepositoryDefinitionDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    return this.repositories.register(dto, ctx);
  }

  @Put(':id')
  @Roles('operator')
  @ApiOkResponse({ description: ANSWER })
  update(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: RepositoryDefinitionDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    return this.repositories.update(id, dto, ctx);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({
    description: 'Removed from the fleet (restic data stays); 409 while jobs on it are unfinished.',
  })
  remove(@Param('id', ParseIdPipe) id: string, @RequestContext() ctx: CommandContext): Promise<void> {
    return this.repositories.remove(id, ctx);
  }

  @Put(':id/secrets')
  @Roles('operator')
  @ApiOkResponse({ description: ANSWER })
  setSecrets(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: RepositorySecretsDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    return this.repositories.setSecrets(id, dto, ctx);
  }

  @Post(':id/hosts')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ description: ANSWER })
  attachHost(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: AttachHostDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    return this.repositories.attachHost(id, dto.host_id, ctx);
  }

  @Delete(':id/hosts/:hostId')
  @Roles('operator')
  @ApiOkResponse({ description: `${ANSWER} 409 while the host has unfinished jobs on it.` })
  detachHost(
    @Param('id', ParseIdPipe) id: string,
    @Param('hostId', ParseIdPipe) hostId: string,
    @RequestContext() ctx: CommandContext,
  ): Promise<RepositoryStateResponse> {
    return this.repositories.detachHost(id, hostId, ctx);
  }

  @Post(':id/jobs')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: JobCreatedDto })
  async requestJob(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: CreateRepositoryJobDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<JobCreatedDto> {
    return { job_id: await this.jobs.requestJob(id, dto.kind, jobArgsOf(dto), placementOf(dto), ctx) };
  }
}
