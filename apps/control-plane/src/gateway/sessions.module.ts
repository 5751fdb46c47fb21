import { Global, Module } from '@nestjs/common';
import { AgentSessions } from '../gateways/agent-sessions';
import { UpgradeRouter } from '../gateways/upgrade-router';

/** Live agent sessions and the shared upgrade router, for the gateways and the command side. */
@Global()
@Module({ providers: [AgentSessions, UpgradeRouter], exports: [AgentSessions, UpgradeRouter] })
export class SessionsModule {}
