import { Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiTags } from '@nestjs/swagger';
import { ParseIdPipe, RequestContext } from '../api/request-context';
import { Roles } from '../auth';
import type { CommandContext } from '../commands/fleet-event.writer';
import { AgentUpdatesService } from './agent-updates.service';

/** `POST /api/hosts/{id}/agent-update`: what the host page's Update button does. */
@ApiTags('hosts')
@Controller('api/hosts')
export class AgentUpdatesController {
  constructor(private readonly updates: AgentUpdatesService) {}

  @Post(':id/agent-update')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({
    description:
      'The connected agent was offered the served agent; it installs it when its agent.yaml has auto_update: true.',
  })
  request(@Param('id', ParseIdPipe) hostId: string, @RequestContext() ctx: CommandContext) {
    return this.updates.request(hostId, ctx);
  }
}
