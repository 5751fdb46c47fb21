import { Module } from '@nestjs/common';
import { CommandsModule } from '../services/fleet.module';
import { AgentGateway } from './agent.gateway';

@Module({ imports: [CommandsModule], providers: [AgentGateway], exports: [AgentGateway] })
export class GatewayModule {}
