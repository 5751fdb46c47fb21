import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../middleware/auth.decorators';
import type { CommandContext } from '../core/command-context';
import { JobCommandsService } from '../services/jobs.service';
import { CreateJobDto, JobCancelledDto, JobCreatedDto, jobArgsOf } from '../dtos/job.dtos';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';

/** Operator orders for jobs; each is an event in the log, answered 202 because the agent acts later. */
@ApiTags('jobs')
@Controller('api')
export class JobsCommandsController {
  constructor(private readonly jobs: JobCommandsService) {}

  @Post('hosts/:id/jobs')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: JobCreatedDto })
  async create(
    @Param('id', ParseIdPipe) hostId: string,
    @Body() dto: CreateJobDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<JobCreatedDto> {
    return {
      job_id: await this.jobs.requestJob(hostId, dto.kind, jobArgsOf(dto), ctx, {
        ...(dto.repository_id !== undefined ? { repositoryId: dto.repository_id } : {}),
      }),
    };
  }

  @Post('jobs/:id/cancel')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: JobCancelledDto })
  async cancel(
    @Param('id', ParseIdPipe) jobId: string,
    @RequestContext() ctx: CommandContext,
  ): Promise<JobCancelledDto> {
    return { job_id: jobId, status: await this.jobs.cancelJob(jobId, ctx) };
  }
}
