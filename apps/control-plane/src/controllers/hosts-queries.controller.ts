import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { HostResponse } from '../dtos/response-mappers';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe } from '../middleware/request-context';
import { HostQueriesService } from '../services/host-queries.service';

/** Hosts as the read models see them, with the gateway's live presence on top. */
@ApiTags('hosts')
@Controller('api/hosts')
export class HostsQueriesController {
  constructor(private readonly hosts: HostQueriesService) {}

  @Get()
  @Roles('viewer')
  list(): Promise<{ hosts: HostResponse[] }> {
    return this.hosts.list();
  }

  @Get(':id')
  @Roles('viewer')
  get(@Param('id', ParseIdPipe) id: string): Promise<HostResponse> {
    return this.hosts.get(id);
  }

  @Get(':id/snapshots')
  @Roles('viewer')
  snapshots(@Param('id', ParseIdPipe) id: string) {
    return this.hosts.snapshots(id);
  }

  @Get(':id/schedules')
  @Roles('viewer')
  schedules(@Param('id', ParseIdPipe) id: string) {
    return this.hosts.schedules(id);
  }
}
