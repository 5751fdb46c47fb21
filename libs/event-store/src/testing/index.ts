// Test-only entry (`@rf/event-store/testing`): the contract suite every
// adapter runs, and helpers for crash and connection-failure specs.
import path from 'node:path';

export {
  collectAsync,
  eventStoreContract,
  makeEvents,
  withContractStore,
  type ContractHarness,
  type DurabilityHarness,
  type DurabilityRound,
} from './event-store.contract';
export { logConsumerContract } from './log-consumer.contract';
export { refusedPort } from '../esdb/refused-port.testing';

/** The compiled child that appends to a SQLite store until killed: `node <path> <db path> <stream> <FULL|NORMAL>`. */
export const sqliteAppenderChildPath = (): string =>
  path.join(__dirname, '..', 'sqlite', 'testing', 'sqlite-appender.child.js');
