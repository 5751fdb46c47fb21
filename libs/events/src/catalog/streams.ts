import { isId } from './validation';

/** Stream categories (the part before the first `-`). */
export const STREAM_CATEGORIES = [
  'host',
  'job',
  'joblog',
  'schedules',
  'snapshots',
  'user',
  'token',
  'enrolment',
  'alert',
  'alertrules',
  'channel',
  'delivery',
  'repository',
  'node',
] as const;
export type StreamCategory = (typeof STREAM_CATEGORIES)[number];

function streamName(category: StreamCategory, id: string): string {
  if (!isId(id))
    throw new TypeError(
      `${category} stream id must be an id of 1-128 characters [A-Za-z0-9._:-], got ${JSON.stringify(id)}`,
    );
  return `${category}-${id}`;
}

export const hostStream = (hostId: string): string => streamName('host', hostId);
/** A job's lifecycle, kept forever. */
export const jobStream = (jobId: string): string => streamName('job', jobId);
/** A job's telemetry (progress and log lines), under a retention policy. */
export const jobLogStream = (jobId: string): string => streamName('joblog', jobId);
export const schedulesStream = (hostId: string): string => streamName('schedules', hostId);
export const snapshotsStream = (hostId: string): string => streamName('snapshots', hostId);
export const userStream = (userId: string): string => streamName('user', userId);
export const apiTokenStream = (tokenId: string): string => streamName('token', tokenId);
export const enrolmentStream = (tokenId: string): string => streamName('enrolment', tokenId);
export const alertStream = (alertId: string): string => streamName('alert', alertId);
/** The fleet's alert rule settings: one stream, every change the whole configuration. */
export const ALERT_RULES_STREAM = 'alertrules-fleet';
export const channelStream = (channelId: string): string => streamName('channel', channelId);
/** Delivery records of one alert, or of the pings about one job. */
export const deliveryStream = (alertOrJobId: string): string => streamName('delivery', alertOrJobId);
/** A repository's registration, secrets, attached hosts and schedules. */
export const repositoryStream = (repositoryId: string): string => streamName('repository', repositoryId);

/**
 * A control-plane node's lease: no events, only stream metadata renewed while
 * the node runs (docs/architecture.md, "Several nodes").
 */
export const nodeStream = (nodeId: string): string => streamName('node', nodeId);

/** Prefix for `subscribeToAll({ streamNamePrefixes })`, e.g. `streamPrefix('job')` → `job-`. */
export const streamPrefix = (category: StreamCategory): string => `${category}-`;

export interface ParsedStreamName {
  readonly category: StreamCategory;
  readonly id: string;
}

/** Splits `category-id` at the first `-` (ids may contain `-`). Returns null for names outside the catalog. */
export function parseStreamName(name: string): ParsedStreamName | null {
  if (typeof name !== 'string') return null;
  const dash = name.indexOf('-');
  if (dash <= 0) return null;
  const category = name.slice(0, dash);
  const id = name.slice(dash + 1);
  if (!(STREAM_CATEGORIES as readonly string[]).includes(category) || !isId(id)) return null;
  return { category: category as StreamCategory, id };
}
