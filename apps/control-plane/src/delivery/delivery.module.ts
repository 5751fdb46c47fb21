import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { AgentBundleService } from './agent-bundle.service';
import { AgentDeliveryController } from './agent-delivery.controller';
import { AgentUpdatesController } from './agent-updates.controller';
import { AgentUpdatesService } from './agent-updates.service';
import { InstallScriptsService } from './install-scripts.service';

/**
 * Agent delivery: the served single-file agent, the install scripts and update
 * offers (README.md "Install an agent", apps/agent/README.md "Updates").
 */
@Module({
  imports: [CommandsModule],
  controllers: [AgentDeliveryController, AgentUpdatesController],
  providers: [AgentBundleService, InstallScriptsService, AgentUpdatesService],
  exports: [AgentBundleService, AgentUpdatesService],
})
export class DeliveryModule {}
