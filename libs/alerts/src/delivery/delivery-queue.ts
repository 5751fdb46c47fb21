/**
 * Per-channel work queues (docs/alerts.md, "Delivery"): each channel has its
 * own lane with its own concurrency, so a receiver that is slow or dead only
 * delays its own notifications. A key is queued or running at most once.
 */
export class DeliveryQueue<T> {
  private readonly lanes = new Map<string, { waiting: Array<{ key: string; item: T }>; running: number }>();
  private readonly keys = new Set<string>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly run: (item: T) => Promise<void>,
    private readonly options: { readonly concurrency: number; readonly maxWaitingPerLane: number } = {
      concurrency: 2,
      maxWaitingPerLane: 10_000,
    },
  ) {}

  /** Queues `item` on `lane` unless `key` is already queued or running, or the lane is full. */
  offer(lane: string, key: string, item: T): boolean {
    if (this.keys.has(key)) return false;
    let l = this.lanes.get(lane);
    if (l === undefined) this.lanes.set(lane, (l = { waiting: [], running: 0 }));
    if (l.waiting.length >= this.options.maxWaitingPerLane) return false;
    this.keys.add(key);
    l.waiting.push({ key, item });
    this.pump(lane);
    return true;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get pending(): number {
    return this.keys.size;
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.keys.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(lane: string): void {
    const l = this.lanes.get(lane);
    if (l === undefined) return;
    while (l.running < this.options.concurrency && l.waiting.length > 0) {
      const next = l.waiting.shift() as { key: string; item: T };
      l.running++;
      void this.run(next.item)
        .catch(() => undefined)
        .finally(() => {
          l.running--;
          this.keys.delete(next.key);
          if (l.running === 0 && l.waiting.length === 0) this.lanes.delete(lane);
          this.pump(lane);
          if (this.keys.size === 0) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }
}
