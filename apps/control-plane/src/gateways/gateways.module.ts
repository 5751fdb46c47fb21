import { Module } from '@nestjs/common';
import { CommandsModule } from '../commands/commands.module';
import { AgentGateway } from './agent.gateway';

@Module({ imports: [CommandsModule], providers: [AgentGateway], exports: [AgentGateway] })
export class GatewayModule {}
