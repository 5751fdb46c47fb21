import type { IncomingWebhookSettings } from '../channel-config';
import { type AlertNotice, bodyLines, headline, noticeColour } from '../notice';
import { clip, jsonRequest, type OutboundRequest } from './outbound-request';

/** Slack's mrkdwn treats &, < and > as markup. */
const slackEscape = (t: string): string =>
  t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack incoming webhook: `text` for notifications, blocks for the message. */
export function slackRequest(s: IncomingWebhookSettings, n: AlertNotice): OutboundRequest {
  const [summary, ...rest] = bodyLines(n);
  return jsonRequest(s.url, {
    text: clip(`${headline(n)}: ${summary}`, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(headline(n), 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: clip(slackEscape(summary), 3000) } },
      ...(rest.length > 0
        ? [
            {
              type: 'context',
              elements: [{ type: 'mrkdwn', text: clip(slackEscape(rest.join(' · ')), 3000) }],
            },
          ]
        : []),
    ],
  });
}

/** Discord webhook: one embed; mentions in alert text are never pinged. */
export function discordRequest(s: IncomingWebhookSettings, n: AlertNotice): OutboundRequest {
  const [summary, ...rest] = bodyLines(n);
  return jsonRequest(s.url, {
    username: 'restic-fleet',
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: clip(headline(n), 256),
        description: clip(summary, 4096),
        color: parseInt(noticeColour(n).hex, 16),
        ...(rest.length > 0 ? { footer: { text: clip(rest.join(' · '), 2048) } } : {}),
        timestamp: n.sentAt.toISOString(),
      },
    ],
  });
}

/** Teams workflow webhook: a message carrying one Adaptive Card. */
export function teamsRequest(s: IncomingWebhookSettings, n: AlertNotice): OutboundRequest {
  const [summary, ...rest] = bodyLines(n);
  return jsonRequest(s.url, {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              size: 'Medium',
              weight: 'Bolder',
              wrap: true,
              color: noticeColour(n).name,
              text: headline(n),
            },
            { type: 'TextBlock', wrap: true, text: summary },
            ...rest.map((text) => ({ type: 'TextBlock', wrap: true, isSubtle: true, spacing: 'None', text })),
          ],
        },
      },
    ],
  });
}
