import { Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiTags } from '@nestjs/swagger';
import type { CommandContext } from '../core/command-context';
import { Roles } from '../middleware/auth.decorators';
import { ParseIdPipe, RequestContext } from '../middleware/request-context';
import { AgentUpdatesService } from '../services/agent-updates.service';

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
