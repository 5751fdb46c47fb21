/**
 * The client emits `caughtUp` and checkpoints out of band, from inside its
 * transform, while events pushed before them may still sit in the
 * subscription's readable buffer. Each signal is held until everything
 * buffered before it has been delivered, so `caughtUp` never overtakes the
 * catch-up events it follows.
 */
export class InOrderSignals {
  private delivered = 0;
  private readonly pending: { at: number; run: () => void }[] = [];
  private source: { readonly readableLength: number } | undefined;

  attach(source: { readonly readableLength: number }): void {
    this.source = source;
  }

  signal(run: () => void): void {
    const at = this.delivered + (this.source?.readableLength ?? 0);
    if (at <= this.delivered) run();
    else this.pending.push({ at, run });
  }

  /** Called after each buffered item has been handed to the consumer. */
  itemDelivered(): void {
    this.delivered += 1;
    while (this.pending.length > 0 && (this.pending[0]?.at ?? Infinity) <= this.delivered)
      this.pending.shift()?.run();
  }
}
