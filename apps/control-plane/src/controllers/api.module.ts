import { Module } from '@nestjs/common';
import { FleetModule } from '../services/fleet.module';
import { ReadModelsModule } from '../services/read-models.module';
import { AgentDeliveryController } from './agent-delivery.controller';
import { AgentUpdatesController } from './agent-updates.controller';
import { ApiTokensController } from './api-tokens.controller';
import { AuditController } from './audit.controller';
import { AuthController } from './auth.controller';
import { EnrolmentController } from './enrolment.controller';
import { HealthController } from './health.controller';
import { HostsCommandsController } from './hosts-commands.controller';
import { HostsQueriesController } from './hosts-queries.controller';
import { JobsCommandsController } from './jobs-commands.controller';
import { JobsQueriesController } from './jobs-queries.controller';
import { RepositoriesCommandsController } from './repositories-commands.controller';
import { RepositoriesQueriesController } from './repositories-queries.controller';
import { UsersController } from './users.controller';

/**
 * The REST API (docs/architecture.md, "External contract"): every controller
 * under /api, plus health and metrics, and /agent/* (the single-file agent and
 * its install scripts).
 */
@Module({
  imports: [FleetModule, ReadModelsModule],
  controllers: [
    AuthController,
    UsersController,
    ApiTokensController,
    EnrolmentController,
    HealthController,
    HostsQueriesController,
    HostsCommandsController,
    JobsQueriesController,
    JobsCommandsController,
    RepositoriesQueriesController,
    RepositoriesCommandsController,
    AuditController,
    AgentDeliveryController,
    AgentUpdatesController,
  ],
})
export class ApiModule {}
