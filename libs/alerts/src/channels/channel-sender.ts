import type { OpenedChannel } from './channel-config';
import { DeliveryError } from './delivery-error';
import { EmailSender, type EmailSenderOptions } from './email-sender';
import { discordRequest, slackRequest, teamsRequest } from './formats/chat.format';
import { healthchecksRequest } from './formats/healthchecks.format';
import type { OutboundRequest } from './formats/outbound-request';
import { gotifyRequest, ntfyRequest } from './formats/push.format';
import { webhookRequest } from './formats/webhook.format';
import { HttpSender, type HttpSenderOptions } from './http-sender';
import type { AlertNotice, Notice } from './notice';

export interface ChannelSenderOptions {
  readonly http?: HttpSenderOptions;
  readonly email?: EmailSenderOptions;
}

/**
 * Delivers one notice through one channel. Resolves when the receiver accepted
 * it; otherwise throws a DeliveryError. Every call is bounded by the senders'
 * timeouts and goes only to the channel's configured address.
 */
export class ChannelSender {
  private readonly http: HttpSender;
  private readonly email: EmailSender;

  constructor(options: ChannelSenderOptions = {}) {
    this.http = new HttpSender(options.http);
    this.email = new EmailSender(options.email);
  }

  async send(channel: OpenedChannel, notice: Notice): Promise<void> {
    if (channel.kind === 'healthchecks') {
      if (notice.type !== 'ping') throw wrongNotice(channel.kind, 'job pings');
      return this.http.send(healthchecksRequest(channel.settings, notice));
    }
    if (notice.type !== 'alert') throw wrongNotice(channel.kind, 'alerts');
    if (channel.kind === 'email') return this.email.send(channel.settings, notice);
    return this.http.send(httpRequestFor(channel, notice));
  }
}

function httpRequestFor(
  channel: Exclude<OpenedChannel, { kind: 'email' | 'healthchecks' }>,
  n: AlertNotice,
): OutboundRequest {
  switch (channel.kind) {
    case 'webhook':
      return webhookRequest(channel.settings, n);
    case 'slack':
      return slackRequest(channel.settings, n);
    case 'discord':
      return discordRequest(channel.settings, n);
    case 'teams':
      return teamsRequest(channel.settings, n);
    case 'ntfy':
      return ntfyRequest(channel.settings, n);
    case 'gotify':
      return gotifyRequest(channel.settings, n);
    default: {
      const _exhaustive: never = channel;
      return _exhaustive;
    }
  }
}

const wrongNotice = (kind: string, takes: string): DeliveryError =>
  new DeliveryError('failed', `a ${kind} channel only takes ${takes}`, false);
