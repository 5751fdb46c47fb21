import { Module } from '@nestjs/common';
import { WritePositions } from '../domain/write-positions';
import { AgentDeliveryService } from './agent-delivery.service';
import { AgentUpdatesService } from './agent-updates.service';
import { FleetEventWriter } from './fleet-event.writer';
import { FleetPresence } from './fleet-presence.service';
import { FleetStateService } from './fleet-state.service';
import { NodeLeases } from './node-leases.service';
import { OrderRoutingService } from './order-routing.service';
import { HostCommandsService } from './hosts.service';
import { JobLostWatcher } from './job-lost.watcher';
import { JobCommandsService } from './jobs.service';
import { JobDispatchService } from './job-dispatch.service';
import { RepositorySchedulerService } from './repository-scheduler.service';
import { RepositorySchedulesService } from './repository-schedules.service';
import { RepositoryCommandsService } from './repository.service';
import { RepositoryJobsService } from './repository-jobs.service';
import { ScheduleCommandsService } from './schedules.service';

const services = [
  FleetStateService,
  FleetEventWriter,
  JobCommandsService,
  JobDispatchService,
  RepositorySchedulesService,
  RepositorySchedulerService,
  ScheduleCommandsService,
  RepositoryCommandsService,
  RepositoryJobsService,
  HostCommandsService,
  JobLostWatcher,
  WritePositions,
  AgentDeliveryService,
  AgentUpdatesService,
  NodeLeases,
  FleetPresence,
  OrderRoutingService,
];

/**
 * The fleet state that follows the log and the operator orders decided on it
 * (hosts, jobs, schedules, repository), plus the job-lost watcher and agent
 * delivery (the served agent file, install scripts, update offers). Orders
 * reach agents through the `AGENT_DISPATCH` port the root module binds.
 */
@Module({ providers: services, exports: services })
export class FleetModule {}
