import type { RecordedEvent } from '@rf/events';

/** Returns the next page of events, or `undefined` when the read is over (never an empty page). Throws to fail the read. */
export type NextPage = () => readonly RecordedEvent[] | undefined;

/**
 * An async iterator over pages of events. Cheaper per event than an async
 * generator, and it yields to the event loop between pages so a long scan
 * never starves the writer or the sockets.
 */
export class PagedReader implements AsyncIterableIterator<RecordedEvent> {
  private page: readonly RecordedEvent[] = [];
  private index = 0;
  private finished = false;
  private pagesRead = 0;

  constructor(private readonly nextPage: NextPage) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordedEvent> {
    return this;
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.index < this.page.length) {
      return Promise.resolve({ done: false, value: this.page[this.index++]! });
    }
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    // The first page is read at once (so errors such as StreamNotFound surface on the first next()).
    if (this.pagesRead === 0) return this.readPage();
    return new Promise((resolve) => setImmediate(() => resolve(this.readPage())));
  }

  return(): Promise<IteratorResult<RecordedEvent>> {
    this.finished = true;
    this.page = [];
    return Promise.resolve({ done: true, value: undefined });
  }

  private readPage(): Promise<IteratorResult<RecordedEvent>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    let page: readonly RecordedEvent[] | undefined;
    try {
      page = this.nextPage();
    } catch (err) {
      this.finished = true;
      return Promise.reject(err);
    }
    this.pagesRead++;
    if (page === undefined || page.length === 0) {
      this.finished = true;
      return Promise.resolve({ done: true, value: undefined });
    }
    this.page = page;
    this.index = 1;
    return Promise.resolve({ done: false, value: page[0]! });
  }
}
