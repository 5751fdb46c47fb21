import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '../core/command-context';
import { PutSchedulesDto } from '../dtos/host.dtos';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';
import {
  RepositorySchedulesService,
  type RepositorySchedulesResponse,
} from '../services/repository-schedules.service';

/** A repository's maintenance and copy schedules, fired by the control plane (docs/repositories.md). */
@ApiTags('repositories')
@Controller('api/repositories')
export class RepositorySchedulesController {
  constructor(private readonly schedules: RepositorySchedulesService) {}

  @Get(':id/schedules')
  @Roles('viewer')
  @ApiOkResponse({ description: 'The current version and list of the repository’s schedules.' })
  get(@Param('id', ParseIdPipe) id: string): Promise<RepositorySchedulesResponse> {
    return this.schedules.get(id);
  }

  @Put(':id/schedules')
  @Roles('operator')
  @ApiOkResponse({ description: 'The new version and list; each fire runs on one attached online host.' })
  put(
    @Param('id', ParseIdPipe) id: string,
    @Body() dto: PutSchedulesDto,
    @RequestContext() ctx: CommandContext,
  ): Promise<RepositorySchedulesResponse> {
    return this.schedules.set(id, dto.schedules, ctx);
  }
}
