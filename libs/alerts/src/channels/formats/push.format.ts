import type { GotifySettings, NtfySettings } from '../channel-config';
import { type AlertNotice, bodyLines, headline } from '../notice';
import { clip, jsonRequest, type OutboundRequest, withPath } from './outbound-request';

/** ntfy priorities: 1 min … 5 max. */
const NTFY_PRIORITY = { info: 3, warning: 4, error: 5 } as const;
/** Gotify priorities: 0 … 10 (8+ is loud on Android). */
const GOTIFY_PRIORITY = { info: 2, warning: 5, error: 8 } as const;

/** ntfy JSON publishing: POST to the server root naming the topic. */
export function ntfyRequest(s: NtfySettings, n: AlertNotice): OutboundRequest {
  const resolved = n.event === 'alert.resolved';
  return jsonRequest(
    withPath(s.server, ''),
    {
      topic: s.topic,
      title: clip(headline(n), 250),
      message: clip(bodyLines(n).join('\n'), 4000),
      priority: resolved || n.event === 'test' ? 3 : NTFY_PRIORITY[n.alert.severity],
      tags: [resolved ? 'white_check_mark' : n.alert.severity === 'error' ? 'rotating_light' : 'warning'],
    },
    s.token !== undefined ? { authorization: `Bearer ${s.token}` } : {},
  );
}

/** Gotify: POST /message with the application token. */
export function gotifyRequest(s: GotifySettings, n: AlertNotice): OutboundRequest {
  const resolved = n.event === 'alert.resolved';
  return jsonRequest(
    withPath(s.server, 'message'),
    {
      title: clip(headline(n), 250),
      message: clip(bodyLines(n).join('\n'), 4000),
      priority: resolved || n.event === 'test' ? 2 : GOTIFY_PRIORITY[n.alert.severity],
    },
    { 'x-gotify-key': s.token },
  );
}
