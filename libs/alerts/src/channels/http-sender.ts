import { DeliveryError, networkError } from './delivery-error';
import type { OutboundRequest } from './formats/outbound-request';

export interface HttpSenderOptions {
  /** Whole request, connection to the end of the answer. Default 10 s. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

/** Longest part of an error answer quoted back to the operator. */
const QUOTED_ANSWER_CHARS = 200;

/** `host:port` of a URL, never its path or query (which may carry a token). */
export function targetOf(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  return `${u.hostname}:${port}`;
}

/**
 * Sends one channel request. Only the request's own URL is contacted: redirects
 * are refused rather than followed. Any 2xx answer is acceptance; anything else
 * is a DeliveryError whose message names the receiver by host and port.
 */
export class HttpSender {
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(options: HttpSenderOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.userAgent = options.userAgent ?? 'restic-fleet';
  }

  async send(req: OutboundRequest): Promise<void> {
    const target = targetOf(req.url);
    const timeoutS = Math.round(this.timeoutMs / 100) / 10;
    // One timer for the whole exchange, cleared when it is over (AbortSignal.timeout would outlive it).
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    let res: Response;
    let text = '';
    try {
      try {
        res = await fetch(req.url, {
          method: req.method,
          headers: { 'user-agent': this.userAgent, ...req.headers },
          body: req.body,
          redirect: 'manual',
          signal: abort.signal,
        });
      } catch (err) {
        if (abort.signal.aborted)
          throw new DeliveryError('timeout', `no answer from ${target} within ${timeoutS} s`, true);
        throw networkError((err as { cause?: unknown }).cause ?? err, target, 'receiver', timeoutS);
      }
      try {
        text = await res.text();
      } catch {
        // The status is what counts; a body cut off (or timed out) is only detail for the message.
      }
    } finally {
      clearTimeout(timer);
    }
    if (res.status >= 200 && res.status < 300) return;
    if (res.status >= 300 && res.status < 400)
      throw new DeliveryError(
        'redirect',
        `${target} answered HTTP ${res.status} (a redirect); notifications go only to the configured URL — enter the final URL`,
        false,
      );
    const quoted = text.replace(/\s+/g, ' ').trim().slice(0, QUOTED_ANSWER_CHARS);
    const retryable = res.status >= 500 || res.status === 408 || res.status === 425 || res.status === 429;
    throw new DeliveryError(
      'http_status',
      `${target} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${quoted ? `: ${quoted}` : ''}`,
      retryable,
    );
  }
}
