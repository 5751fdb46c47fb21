/** One HTTP request a channel makes; the URL comes only from the channel's settings. */
export interface OutboundRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const jsonRequest = (
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
): OutboundRequest => ({
  url,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(payload),
});

/** `base` with `path` appended to its path (query kept), e.g. a Gotify server under /gotify → /gotify/message. */
export function withPath(base: string, path: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${path}`;
  return u.toString();
}

/** Cuts text to `max` characters with an ellipsis. */
export const clip = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;
