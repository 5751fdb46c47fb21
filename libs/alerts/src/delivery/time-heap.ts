/** A binary min-heap of items by time; stale entries are the caller's to skip (lazy deletion). */
export class TimeHeap<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  push(at: number, item: T): void {
    this.at.push(at);
    this.items.push(item);
    let i = this.at.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent] <= this.at[i]) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest time, or undefined when empty. */
  peekAt(): number | undefined {
    return this.at[0];
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    if (this.at.length === 0) return undefined;
    const top = this.items[0];
    const lastAt = this.at.pop() as number;
    const lastItem = this.items.pop() as T;
    if (this.at.length > 0) {
      this.at[0] = lastAt;
      this.items[0] = lastItem;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.at.length && this.at[l] < this.at[m]) m = l;
        if (r < this.at.length && this.at[r] < this.at[m]) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(a: number, b: number): void {
    [this.at[a], this.at[b]] = [this.at[b], this.at[a]];
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
  }
}
