import { Module } from '@nestjs/common';
import { LiveSettings } from '../core/live.settings';
import { AgentMessagesService } from '../ingest/agent-messages.service';
import { FleetModule } from '../services/fleet.module';
import { AgentGateway } from './agent.gateway';
import { JobFeeds } from './job-feeds';
import { JobTailGateway } from './job-tail.gateway';
import { UpgradeRouter } from './upgrade-router';

/**
 * The WebSocket edges on the HTTP port, routed by path through one
 * `UpgradeRouter`: the agent socket at `/agent` (with ingest of its
 * messages) and the live job tail at `GET /api/jobs/{id}/stream`.
 * Needs the global AuthModule (credentials, request authentication),
 * MetricsModule, EVENT_STORE and the `AgentSessions` the root module provides.
 */
@Module({
  imports: [FleetModule],
  providers: [
    UpgradeRouter,
    AgentMessagesService,
    AgentGateway,
    { provide: LiveSettings, useFactory: () => LiveSettings.fromEnv(process.env) },
    JobFeeds,
    JobTailGateway,
  ],
  exports: [AgentGateway],
})
export class GatewaysModule {}
