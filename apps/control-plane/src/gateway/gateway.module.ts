import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { AgentGateway } from './agent.gateway';

@Module({ imports: [CommandsModule, DeliveryModule], providers: [AgentGateway], exports: [AgentGateway] })
export class GatewayModule {}
