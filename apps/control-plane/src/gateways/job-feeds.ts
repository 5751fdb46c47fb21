import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@rf/event-store';
import { JobFeed } from './job-feed';

/**
 * One `JobFeed` per watched job, shared by all its watchers: opened by the
 * first, closed when the last leaves, so an unwatched job costs nothing.
 */
@Injectable()
export class JobFeeds implements OnModuleDestroy {
  private readonly logger = new Logger(JobFeeds.name);
  private readonly feeds = new Map<string, { feed: Promise<JobFeed | null>; refs: number }>();

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  get openFeeds(): number {
    return this.feeds.size;
  }

  /** The job's feed, or null when there is no such job. Every successful call needs one `release`. */
  async acquire(jobId: string): Promise<JobFeed | null> {
    let entry = this.feeds.get(jobId);
    if (!entry) {
      entry = { feed: JobFeed.open(this.store, jobId), refs: 0 };
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
    feed.onFailure ??= (err) => {
      this.logger.error({ err, job_id: jobId }, 'live feed subscription failed');
      if (this.feeds.get(jobId) === entry) this.feeds.delete(jobId);
    };
    return feed;
  }

  release(feed: JobFeed): void {
    const entry = this.feeds.get(feed.jobId);
    if (!entry) {
      if (feed.listenerCount === 0) feed.close();
      return;
    }
    this.drop(feed.jobId, entry);
  }

  onModuleDestroy(): void {
    for (const entry of this.feeds.values())
      void entry.feed.then(
        (f) => f?.close(),
        () => undefined,
      );
    this.feeds.clear();
  }

  private drop(jobId: string, entry: { feed: Promise<JobFeed | null>; refs: number }): void {
    entry.refs--;
    if (entry.refs > 0) return;
    if (this.feeds.get(jobId) === entry) this.feeds.delete(jobId);
    void entry.feed.then(
      (f) => f?.close(),
      () => undefined,
    );
  }
}
