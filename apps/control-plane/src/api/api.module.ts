import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { HealthController } from './health.controller';
import { HostsCommandsController } from './hosts-commands.controller';
import { JobsCommandsController } from './jobs-commands.controller';

/** The REST API (DESIGN.md §5) except auth, which the AuthModule serves. */
@Module({
  imports: [CommandsModule],
  controllers: [HealthController, HostsCommandsController, JobsCommandsController],
})
export class ApiModule {}
