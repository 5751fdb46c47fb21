import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../middleware/auth.decorators';
import { AGENT_FILE_NAME } from '../repositories/agent-delivery.repository';
import { AgentDeliveryService } from '../services/agent-delivery.service';

const TEXT = 'text/plain; charset=utf-8';

/**
 * `/agent/*` over plain HTTP (the WebSocket at `/agent` itself is the gateway's):
 * the single-file agent, its SHA-256 and the install scripts. Public, because a
 * new host has no credentials yet; nothing here is secret.
 */
@ApiTags('agent delivery')
@Public()
@Controller('agent')
export class AgentDeliveryController {
  constructor(private readonly delivery: AgentDeliveryService) {}

  @Get(AGENT_FILE_NAME)
  @ApiOkResponse({ description: 'The whole agent in one file; runs with Node.js >= 20 alone.' })
  agent(@Res() res: Response): void {
    const bundle = this.delivery.requireBundle();
    res
      .status(200)
      .set({
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'no-cache',
        ETag: `"${bundle.sha256}"`,
        'X-RF-Agent-Version': bundle.version,
      })
      .send(bundle.bytes);
  }

  @Get(`${AGENT_FILE_NAME}.sha256`)
  @Header('Content-Type', TEXT)
  @Header('Cache-Control', 'no-cache')
  @ApiOkResponse({ description: '`<sha256>  restic-fleet-agent.js` (sha256sum format).' })
  sha256(): string {
    return `${this.delivery.requireBundle().sha256}  ${AGENT_FILE_NAME}\n`;
  }

  @Get('install.sh')
  @Header('Content-Type', TEXT)
  @Header('Cache-Control', 'no-cache')
  @ApiOkResponse({
    description: 'Linux installer: `curl -fsSL <url>/agent/install.sh | sudo sh -s -- --token T`.',
  })
  installSh(): string {
    return this.delivery.installScript('sh');
  }

  @Get('install.ps1')
  @Header('Content-Type', TEXT)
  @Header('Cache-Control', 'no-cache')
  @ApiOkResponse({ description: 'Windows installer (elevated PowerShell).' })
  installPs1(): string {
    return this.delivery.installScript('ps1');
  }
}
