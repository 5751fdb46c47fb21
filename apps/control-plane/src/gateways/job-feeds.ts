import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_STORE, LogConsumer, type EventStore, type LogBatch } from '@rf/event-store';
import { parseStreamName } from '@rf/events';
import { JobFeed } from './job-feed';

/** A job's lifecycle and its telemetry. */
const FEED_PREFIXES = ['job-', 'joblog-'] as const;

interface Entry {
  readonly feed: Promise<JobFeed | null>;
  refs: number;
}

/**
 * One `JobFeed` per watched job, shared by all its watchers: opened by the
 * first, closed when the last leaves. All feeds are fed by one `LogConsumer`
 * on the `job-` and `joblog-` streams, started at the log's head when the
 * first job is watched and stopped when none is, so an unwatched fleet costs
 * nothing and a hundred watched jobs cost one subscription.
 */
@Injectable()
export class JobFeeds implements OnModuleDestroy {
  private readonly logger = new Logger(JobFeeds.name);
  private readonly feeds = new Map<string, Entry>();
  /** Feeds that receive live events, by job id (from before their lifecycle is read). */
  private readonly routes = new Map<string, JobFeed>();
  private consumer: LogConsumer | undefined;
  private following: Promise<void> | undefined;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  get openFeeds(): number {
    return this.feeds.size;
  }

  /** The job's feed, or null when there is no such job. Every successful call needs one `release`. */
  async acquire(jobId: string): Promise<JobFeed | null> {
    let entry = this.feeds.get(jobId);
    if (!entry) {
      entry = { feed: this.open(jobId), refs: 0 };
      this.feeds.set(jobId, entry);
    }
    entry.refs++;
    let feed: JobFeed | null;
    try {
      feed = await entry.feed;
    } catch (err) {
      this.drop(jobId, entry);
      throw err;
    }
    if (!feed) {
      this.drop(jobId, entry);
      return null;
    }
    return feed;
  }

  release(feed: JobFeed): void {
    const entry = this.feeds.get(feed.jobId);
    if (!entry) {
      if (feed.listenerCount === 0) this.close(feed);
      return;
    }
    this.drop(feed.jobId, entry);
  }

  onModuleDestroy(): void {
    for (const entry of this.feeds.values())
      void entry.feed.then(
        (f) => f && this.close(f),
        () => undefined,
      );
    this.feeds.clear();
    this.routes.clear();
    this.stopFollowing();
  }

  /** Routed first, then the lifecycle read: nothing appended in between is missed. */
  private async open(jobId: string): Promise<JobFeed | null> {
    const feed = new JobFeed(jobId, this.store);
    this.routes.set(jobId, feed);
    try {
      await this.follow();
      if (await feed.load()) return feed;
    } catch (err) {
      this.close(feed);
      throw err;
    }
    this.close(feed);
    return null;
  }

  private follow(): Promise<void> {
    this.following ??= this.startFollowing().catch((err: unknown) => {
      this.following = undefined;
      throw err;
    });
    return this.following;
  }

  private async startFollowing(): Promise<void> {
    const head = await this.store.headPosition();
    const consumer = new LogConsumer(this.store, (batch) => this.route(batch), {
      name: 'the live job feeds',
      from: head,
      streamPrefixes: FEED_PREFIXES,
      onError: (err, retrying) => {
        if (retrying) {
          this.logger.warn({ err }, 'live feed subscription failed; resubscribing');
          return;
        }
        this.logger.error({ err }, 'live feed subscription stopped');
        if (this.consumer === consumer) this.failAll(err);
      },
    });
    this.consumer = consumer;
    consumer.start();
  }

  private route(batch: LogBatch): void {
    for (const e of batch.events) {
      const parsed = parseStreamName(e.streamId);
      if (parsed) this.routes.get(parsed.id)?.deliver(e);
    }
  }

  private failAll(err: unknown): void {
    const feeds = [...this.routes.values()];
    this.feeds.clear();
    this.routes.clear();
    this.stopFollowing();
    for (const feed of feeds) feed.fail(err);
  }

  private close(feed: JobFeed): void {
    feed.close();
    if (this.routes.get(feed.jobId) === feed) this.routes.delete(feed.jobId);
    if (this.routes.size === 0) this.stopFollowing();
  }

  private stopFollowing(): void {
    this.consumer?.stop();
    this.consumer = undefined;
    this.following = undefined;
  }

  private drop(jobId: string, entry: Entry): void {
    entry.refs--;
    if (entry.refs > 0) return;
    if (this.feeds.get(jobId) === entry) this.feeds.delete(jobId);
    void entry.feed.then(
      (f) => f && this.close(f),
      () => undefined,
    );
  }
}
