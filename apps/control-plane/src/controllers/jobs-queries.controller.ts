import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { JobLogsQueryDto, ListJobsQueryDto } from '../dtos/job.dtos';
import type { JobResponse } from '../dtos/response-mappers';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe } from '../middleware/request-context';
import { JobQueriesService } from '../services/job-queries.service';

@ApiTags('jobs')
@Controller('api/jobs')
export class JobsQueriesController {
  constructor(private readonly jobs: JobQueriesService) {}

  @Get()
  @Roles('viewer')
  list(@Query() q: ListJobsQueryDto): Promise<{ jobs: JobResponse[] }> {
    return this.jobs.list(q);
  }

  @Get(':id')
  @Roles('viewer')
  get(@Param('id', ParseIdPipe) id: string): Promise<JobResponse> {
    return this.jobs.get(id);
  }

  /** Persisted log lines after `after_seq`; says plainly when retention removed the log. */
  @Get(':id/logs')
  @Roles('viewer')
  logs(@Param('id', ParseIdPipe) id: string, @Query() q: JobLogsQueryDto) {
    return this.jobs.logs(id, q);
  }
}
