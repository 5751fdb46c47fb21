import { Module } from '@nestjs/common';
import { AgentMessagesService } from '../ingest/agent-messages.service';
import { FleetEventWriter } from './fleet-event.writer';
import { FleetStateService } from './fleet-state.service';
import { HostCommandsService } from './hosts.service';
import { JobLostWatcher } from './job-lost.watcher';
import { JobCommandsService } from './jobs.service';
import { RepositoryCommandsService } from './repository.service';
import { ScheduleCommandsService } from './schedules.service';
import { WritePositions } from '../domain/write-positions';

const services = [
  FleetStateService,
  FleetEventWriter,
  JobCommandsService,
  ScheduleCommandsService,
  RepositoryCommandsService,
  HostCommandsService,
  AgentMessagesService,
  JobLostWatcher,
  WritePositions,
];

/** Services that turn operator orders and agent messages into events. */
@Module({ providers: services, exports: services })
export class CommandsModule {}
