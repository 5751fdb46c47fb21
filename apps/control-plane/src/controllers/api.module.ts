import { Module } from '@nestjs/common';
import { CommandsModule } from '../services/fleet.module';
import { HealthController } from './health.controller';
import { HostsCommandsController } from './hosts-commands.controller';
import { JobsCommandsController } from './jobs-commands.controller';
import { AuditController } from './audit.controller';
import { HostsQueriesController } from './hosts-queries.controller';
import { JobsQueriesController } from './jobs-queries.controller';
import { ReadModelsModule } from '../services/read-models.module';

/** The REST API (DESIGN.md §5) except auth, which the AuthModule serves. */
@Module({
  imports: [CommandsModule, ReadModelsModule],
  controllers: [
    HealthController,
    HostsQueriesController,
    HostsCommandsController,
    JobsQueriesController,
    JobsCommandsController,
    AuditController,
  ],
})
export class ApiModule {}
