/*
 * The job page's live log (browser bundle, built by scripts/build-ui.js).
 * Server-rendered first; this script keeps it live over
 * /api/jobs/{id}/stream, fills gaps reported by `dropped` from
 * /api/jobs/{id}/logs, follows the log unless the reader scrolls up, and
 * shows the final state when the job ends. Finished jobs need no socket.
 */

interface Boot {
  job_id: string;
  status: string;
  active: boolean;
  last_seq: number;
  more_after: number | null;
  advice: Record<string, string>;
  lost_advice: string;
  /** The job lifecycle's terminal statuses, from the server. */
  terminal_statuses: readonly string[];
}

interface LogLine {
  seq: number;
  ts?: string;
  stream: string;
  payload: string;
}

type Frame =
  | ({ type: 'log' } & LogLine)
  | {
      type: 'progress';
      percent_done: number;
      files_done: number;
      total_files: number;
      bytes_done: number;
      total_bytes: number;
      eta_seconds: number | null;
      throughput_bps: number;
    }
  | {
      type: 'status';
      status: string;
      cancel_requested: boolean;
      exit_code: number | null;
      error: string | null;
      error_code: string | null;
    }
  | { type: 'dropped'; from_seq: number; to_seq: number; reason: string }
  | { type: 'end'; status: string };

/** Lines kept in the page; older ones are removed so a huge log cannot exhaust the tab. */
const MAX_DOM_LINES = 20_000;
const FOLLOW_SLACK_PX = 8;
const TONES: Record<string, string> = {
  succeeded: 'ok',
  warning: 'warn',
  cancelled: 'warn',
  failed: 'bad',
  lost: 'bad',
  running: 'info',
  dispatched: 'info',
  queued: 'info',
};

const byId = <T extends HTMLElement = HTMLElement>(id: string): T | null =>
  document.getElementById(id) as T | null;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function formatBytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let x = v;
  let i = 0;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x.toFixed(0) : x.toFixed(1)} ${units[i]}`;
}

function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

class LiveLog {
  private lastSeq: number;
  private following = true;
  private pending: LogLine[] = [];
  private flushScheduled = false;
  private ended = false;
  private socket: WebSocket | null = null;
  private reconnects = 0;
  private sawProgress = false;
  private readonly log: HTMLElement;
  private readonly follow: HTMLButtonElement | null;
  private readonly note: HTMLElement | null;

  constructor(private readonly boot: Boot) {
    this.lastSeq = boot.last_seq;
    this.log = byId('log')!;
    this.follow = byId<HTMLButtonElement>('follow');
    this.note = byId('log-note');
  }

  start(): void {
    this.log.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.log.addEventListener('keydown', (ev) => {
      if (ev.key === 'End') this.setFollowing(true);
    });
    this.follow?.addEventListener('click', () => this.setFollowing(!this.following));
    this.scrollToEnd();
    if (this.boot.active) this.connect();
    else if (this.boot.more_after !== null) void this.fetchRest(this.boot.more_after);
  }

  // --- follow -------------------------------------------------------------

  private atBottom(): boolean {
    return this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - FOLLOW_SLACK_PX;
  }

  private onScroll(): void {
    const bottom = this.atBottom();
    if (this.following && !bottom) this.setFollowing(false);
    else if (!this.following && bottom) this.setFollowing(true);
  }

  private setFollowing(on: boolean): void {
    this.following = on;
    if (this.follow) {
      this.follow.setAttribute('aria-pressed', String(on));
      this.follow.textContent = on ? 'Following' : 'Follow';
      this.follow.title = on
        ? 'The log scrolls to new lines'
        : 'Scroll to the newest line and keep following';
    }
    if (on) this.scrollToEnd();
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }

  // --- lines --------------------------------------------------------------

  private lineElement(line: LogLine): HTMLElement {
    const div = document.createElement('div');
    div.className = `line ${line.stream}`;
    div.dataset['seq'] = String(line.seq);
    const seq = document.createElement('span');
    seq.className = 'seq';
    seq.textContent = String(line.seq);
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = line.payload;
    div.append(seq, text);
    return div;
  }

  private addLine(line: LogLine): void {
    if (line.seq <= this.lastSeq) return;
    this.lastSeq = line.seq;
    this.pending.push(line);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  /** One DOM write per frame however fast lines arrive. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const fragment = document.createDocumentFragment();
    for (const line of this.pending) fragment.append(this.lineElement(line));
    this.pending = [];
    this.log.append(fragment);
    const excess = this.log.childElementCount - MAX_DOM_LINES;
    for (let i = 0; i < excess; i++) this.log.firstElementChild?.remove();
    if (excess > 0 && this.note)
      this.note.textContent = `Older lines are hidden here; the full log is at /api/jobs/${this.boot.job_id}/logs.`;
    if (this.following) this.scrollToEnd();
  }

  /** Fetches `afterSeq+1..toSeq` (or to the end) from the REST log, page by page. */
  private async fetchLines(afterSeq: number, toSeq: number | null): Promise<LogLine[]> {
    const out: LogLine[] = [];
    let after = afterSeq;
    for (let page = 0; page < 1000; page++) {
      const limit = toSeq === null ? 5000 : Math.min(5000, toSeq - after);
      if (limit <= 0) break;
      const res = await fetch(
        `/api/jobs/${encodeURIComponent(this.boot.job_id)}/logs?after_seq=${after}&limit=${limit}`,
        {
          credentials: 'same-origin',
          headers: { accept: 'application/json' },
        },
      );
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { lines: LogLine[] };
      const lines = body.lines.filter((l) => toSeq === null || l.seq <= toSeq);
      out.push(...lines);
      if (lines.length === 0 || lines.length < limit) break;
      after = lines[lines.length - 1]!.seq;
    }
    return out;
  }

  private async fetchRest(afterSeq: number): Promise<void> {
    try {
      for (const line of await this.fetchLines(afterSeq, null)) this.addLine(line);
    } catch {
      if (this.note)
        this.note.textContent = 'Could not load the rest of the log; reload the page to try again.';
    }
  }

  /** A slow-consumer gap: a placeholder in place, replaced by the lines from the REST log. */
  private async fillGap(from: number, to: number): Promise<void> {
    this.flush();
    const gap = document.createElement('div');
    gap.className = 'gap';
    gap.setAttribute('role', 'note');
    gap.textContent = `Lines ${from}–${to} skipped on this connection; loading them…`;
    this.log.append(gap);
    if (this.lastSeq < to) this.lastSeq = to;
    // The read models may trail the live stream by a moment: retry a few times (bounded).
    let lines: LogLine[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        lines = await this.fetchLines(from - 1, to);
      } catch {
        lines = [];
      }
      if (lines.length > 0 && lines[lines.length - 1]!.seq >= to) break;
      await sleep(500);
    }
    if (lines.length === 0) {
      gap.textContent = `Lines ${from}–${to} could not be loaded; they are in the job's full log.`;
      return;
    }
    const fragment = document.createDocumentFragment();
    for (const line of lines) fragment.append(this.lineElement(line));
    gap.replaceWith(fragment);
    if (this.following) this.scrollToEnd();
  }

  // --- socket -------------------------------------------------------------

  private connect(): void {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/api/jobs/${encodeURIComponent(this.boot.job_id)}/stream?after_seq=${this.lastSeq}`;
    const ws = new WebSocket(url);
    this.socket = ws;
    ws.onopen = () => {
      this.reconnects = 0;
      this.setState('live');
    };
    ws.onmessage = (ev: MessageEvent<string>) => {
      try {
        this.onFrame(JSON.parse(ev.data) as Frame);
      } catch {
        // A frame we cannot read is skipped; the log stays usable.
      }
    };
    ws.onclose = () => {
      this.socket = null;
      if (this.ended) return;
      this.reconnects++;
      if (this.reconnects > 20) {
        this.setState('disconnected — reload the page');
        return;
      }
      this.setState('reconnecting…');
      setTimeout(() => this.connect(), Math.min(10_000, 500 * 2 ** Math.min(this.reconnects, 5)));
    };
  }

  private setState(text: string): void {
    const el = byId('log-state');
    if (el) el.textContent = text;
  }

  private onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'log':
        this.addLine(frame);
        return;
      case 'progress':
        this.showProgress(frame);
        return;
      case 'status':
        this.showStatus(frame);
        return;
      case 'dropped':
        if (frame.reason === 'agent') {
          this.flush();
          const note = document.createElement('div');
          note.className = 'gap';
          note.textContent = `The agent dropped lines ${frame.from_seq}–${frame.to_seq} before sending them.`;
          this.log.append(note);
        } else void this.fillGap(frame.from_seq, frame.to_seq);
        return;
      case 'end':
        this.finish(frame.status);
        return;
    }
  }

  private showProgress(p: Extract<Frame, { type: 'progress' }>): void {
    this.sawProgress = true;
    const card = byId('progress-card');
    if (card) card.hidden = false;
    const percent = Math.round(p.percent_done * 1000) / 10;
    const bar = byId('progress-bar');
    if (bar) {
      bar.setAttribute('aria-valuenow', String(percent));
      const fill = bar.firstElementChild as HTMLElement | null;
      if (fill) fill.style.width = `${percent}%`;
    }
    const set = (id: string, text: string) => {
      const el = byId(id);
      if (el) el.textContent = text;
    };
    set('p-percent', `${percent.toFixed(1)} %`);
    set('p-files', `${p.files_done.toLocaleString('en-US')} / ${p.total_files.toLocaleString('en-US')}`);
    set('p-bytes', `${formatBytes(p.bytes_done)} / ${formatBytes(p.total_bytes)}`);
    set('p-eta', p.eta_seconds === null ? '—' : formatEta(p.eta_seconds));
    set('p-rate', `${formatBytes(p.throughput_bps)}/s`);
  }

  private showStatus(s: Extract<Frame, { type: 'status' }>): void {
    const pill = byId('job-status');
    if (pill) {
      pill.textContent = s.status;
      pill.className = `badge ${TONES[s.status] ?? ''}`;
      pill.setAttribute('aria-label', `Job status: ${s.status}`);
    }
    const terminal = this.boot.terminal_statuses.includes(s.status);
    // The wait reason is a snapshot of the queue at page load; once the job leaves the queue it is stale.
    if (s.status !== 'queued') byId('wait-reason')?.remove();
    const cancelNote = byId('cancel-note');
    if (cancelNote) cancelNote.hidden = !(s.cancel_requested && !terminal);
    if (terminal) byId('cancel-form')?.remove();
    if (s.status === 'succeeded' || s.status === 'warning') this.showProgress100();
    const failed =
      s.status === 'failed' || s.status === 'lost' || (s.status === 'warning' && s.error !== null);
    if (failed || (s.status === 'cancelled' && s.error)) {
      const box = byId('failure');
      if (box) box.hidden = false;
      const err = byId('failure-error');
      if (err)
        err.textContent =
          s.error ?? (s.status === 'lost' ? 'The agent stopped reporting this job.' : 'No error message.');
      const advice =
        s.status === 'lost'
          ? this.boot.lost_advice
          : s.error_code
            ? this.boot.advice[s.error_code]
            : undefined;
      const wrap = byId('failure-advice-wrap');
      const text = byId('failure-advice');
      if (wrap && text && advice) {
        text.textContent = advice;
        wrap.hidden = false;
      }
    }
    if (terminal) {
      const exit = byId('exit-code');
      if (exit && s.exit_code !== null) exit.textContent = String(s.exit_code);
    }
  }

  private showProgress100(): void {
    const bar = byId('progress-bar');
    if (!bar) return;
    const now = Number(bar.getAttribute('aria-valuenow') ?? '0');
    if (now >= 100) return;
    bar.setAttribute('aria-valuenow', '100');
    const fill = bar.firstElementChild as HTMLElement | null;
    if (fill) fill.style.width = '100%';
    const pct = byId('p-percent');
    if (pct) pct.textContent = '100.0 %';
  }

  private finish(status: string): void {
    this.ended = true;
    this.flush();
    this.setState('finished');
    this.socket?.close();
    const stats = byId('final-stats');
    if (stats) stats.hidden = false;
    const progressCard = byId('progress-card');
    if (progressCard && !this.sawProgress && byId('progress-bar')?.getAttribute('aria-valuenow') === '0')
      progressCard.hidden = true;
    document.body.dataset['jobEnded'] = status;
    void this.refreshResult();
  }

  /** The result card as the server renders it, once the read models have the outcome (bounded retries). */
  private async refreshResult(): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const res = await fetch(`/jobs/${encodeURIComponent(this.boot.job_id)}`, {
          credentials: 'same-origin',
        });
        if (res.ok) {
          const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
          const fresh = doc.getElementById('final-stats');
          const finished = doc.getElementById('finished-at')?.textContent?.trim();
          if (fresh && finished && finished !== '—') {
            fresh.hidden = false;
            byId('final-stats')?.replaceWith(fresh);
            // The last live progress is up to a second old; the server's card has the final totals.
            const card = doc.getElementById('progress-card');
            if (card && !card.hidden) byId('progress-card')?.replaceWith(card);
            return;
          }
        }
      } catch {
        // Try again below; the live state on the page is already final.
      }
      await sleep(500);
    }
    const reload = byId('stats-reload');
    if (reload) reload.hidden = false;
  }
}

function main(): void {
  const bootEl = document.getElementById('job-boot');
  if (!bootEl?.textContent) return;
  new LiveLog(JSON.parse(bootEl.textContent) as Boot).start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
else main();
