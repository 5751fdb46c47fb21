import type { RecordedEvent } from '@rf/events';

/** Returns the next page of events, or `undefined` when the read is over (never an empty page). Throws to fail the read. */
export type NextPage = () => readonly RecordedEvent[] | undefined;

/**
 * An async iterator over the events of pages (EventPages), one by one. Cheaper
 * per event than an async generator, and it yields to the event loop between
 * pages so a long scan never starves the writer or the sockets.
 */
export class PagedReader implements AsyncIterableIterator<RecordedEvent> {
  private page: readonly RecordedEvent[] = [];
  private index = 0;
  private readonly pages: EventPages;

  constructor(nextPage: NextPage) {
    this.pages = new EventPages(nextPage);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RecordedEvent> {
    return this;
  }

  next(): Promise<IteratorResult<RecordedEvent>> {
    if (this.index < this.page.length) {
      return Promise.resolve({ done: false, value: this.page[this.index++]! });
    }
    return this.pages.next().then((r) => {
      if (r.done === true) return { done: true, value: undefined };
      this.page = r.value;
      this.index = 1;
      return { done: false, value: r.value[0]! };
    });
  }

  return(): Promise<IteratorResult<RecordedEvent>> {
    this.page = [];
    return this.pages.return().then(() => ({ done: true, value: undefined }));
  }
}

/**
 * Pages of events, each handed over whole (never an empty one). It yields to the
 * event loop between pages; the first page is read at once, so errors such as
 * StreamNotFound surface on the first next().
 */
export class EventPages implements AsyncIterableIterator<readonly RecordedEvent[]> {
  private finished = false;
  private pagesRead = 0;

  constructor(private readonly nextPage: NextPage) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<readonly RecordedEvent[]> {
    return this;
  }

  next(): Promise<IteratorResult<readonly RecordedEvent[]>> {
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.pagesRead === 0) return this.readPage();
    return new Promise((resolve) => setImmediate(() => resolve(this.readPage())));
  }

  return(): Promise<IteratorResult<readonly RecordedEvent[]>> {
    this.finished = true;
    return Promise.resolve({ done: true, value: undefined });
  }

  private readPage(): Promise<IteratorResult<readonly RecordedEvent[]>> {
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
    return Promise.resolve({ done: false, value: page });
  }
}
