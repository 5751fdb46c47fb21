import { Module } from '@nestjs/common';
import { BrowseModule } from '../services/browse.module';
import { AlertsModule } from '../services/alerts.module';
import { FleetModule } from '../services/fleet.module';
import { ReadModelsModule } from '../services/read-models.module';
import { AgentDeliveryController } from './agent-delivery.controller';
import { AgentUpdatesController } from './agent-updates.controller';
import { AlertRulesController } from './alert-rules.controller';
import { AlertsController } from './alerts.controller';
import { ApiTokensController } from './api-tokens.controller';
import { AuditController } from './audit.controller';
import { AuthController } from './auth.controller';
import { EnrolmentController } from './enrolment.controller';
import { HealthController } from './health.controller';
import { HostsCommandsController } from './hosts-commands.controller';
import { HostsQueriesController } from './hosts-queries.controller';
import { JobsCommandsController } from './jobs-commands.controller';
import { JobsQueriesController } from './jobs-queries.controller';
import { NotificationChannelsController } from './notification-channels.controller';
import { RepositoriesCommandsController } from './repositories-commands.controller';
import { RepositoriesQueriesController } from './repositories-queries.controller';
import { RepositorySchedulesController } from './repository-schedules.controller';
import { SnapshotBrowseController } from './snapshot-browse.controller';
import { UsersController } from './users.controller';

/**
 * The REST API (docs/architecture.md, "External contract"): every controller
 * under /api, plus health and metrics, and /agent/* (the single-file agent and
 * its install scripts).
 */
@Module({
  imports: [FleetModule, ReadModelsModule, AlertsModule, BrowseModule],
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
    SnapshotBrowseController,
    AlertsController,
    AlertRulesController,
    NotificationChannelsController,
    RepositoriesCommandsController,
    RepositorySchedulesController,
    AuditController,
    AgentDeliveryController,
    AgentUpdatesController,
  ],
})
export class ApiModule {}
