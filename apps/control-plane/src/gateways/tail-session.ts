import { isEventStoreError } from '@rf/event-store';
import { feedItemOf, type FeedItem, type FeedListener, type JobFeed } from './job-feed';
import type { LiveProgressMessage, LiveStatusMessage } from './live-messages';
import type { TailSubscriber } from './tail-subscriber';

/**
 * One socket's run: persisted telemetry first (read from the store, paced by
 * the socket), then live items from the shared feed. The seam is exact: the
 * catch-up reads until it has passed every revision the feed has delivered,
 * then switches to live in the same tick; anything at or below what it read
 * is skipped (and lines are de-duplicated by seq on top).
 */
export class TailSession implements FeedListener {
  private live = false;
  private readUpTo = -1;

  constructor(
    private readonly feed: JobFeed,
    readonly subscriber: TailSubscriber,
  ) {}

  onItem(item: FeedItem): void {
    if (!this.live || item.revision <= this.readUpTo) return;
    this.deliver(item);
  }

  onStatus(status: LiveStatusMessage): void {
    if (this.live) this.subscriber.offerControl(status);
  }

  onEnd(status: LiveStatusMessage): void {
    if (!this.live) return;
    this.subscriber.offerControl(status);
    this.subscriber.end({ type: 'end', status: status.status });
  }

  onError(): void {
    this.subscriber.abort(1011, 'the live feed of this job failed; reload to reconnect');
  }

  /** Runs the catch-up and joins the live phase; resolves once live (or closed). */
  async run(): Promise<void> {
    this.feed.add(this);
    let latestProgress: LiveProgressMessage | null = null;
    for (;;) {
      try {
        for await (const event of this.feed.readLog(this.readUpTo)) {
          if (this.subscriber.isClosed) return;
          this.readUpTo = event.revision;
          const item = feedItemOf(event);
          if (!item) continue;
          if (item.kind === 'progress') latestProgress = item.message;
          else if (item.kind === 'line') this.subscriber.pushCatchUpLine(item.message);
          else this.subscriber.offerControl(item.message);
          await this.subscriber.waitForRoom();
        }
      } catch (err) {
        // No telemetry yet, or retention removed it: nothing to catch up.
        if (!isEventStoreError(err, 'StreamNotFound') && !isEventStoreError(err, 'StreamDeleted')) throw err;
      }
      if (this.subscriber.isClosed) return;
      if (this.feed.lastLogRevision <= this.readUpTo) break;
    }
    this.live = true;
    if (latestProgress) this.subscriber.offerProgress(latestProgress);
    const status = this.feed.statusMessage();
    this.subscriber.offerControl(status);
    // A terminal job still settling gets its last lines and `end` through onEnd.
    if (this.feed.ended) this.subscriber.end({ type: 'end', status: status.status });
  }

  private deliver(item: FeedItem): void {
    if (item.kind === 'line') this.subscriber.offerLine(item.message);
    else if (item.kind === 'progress') this.subscriber.offerProgress(item.message);
    else this.subscriber.offerControl(item.message);
  }
}
