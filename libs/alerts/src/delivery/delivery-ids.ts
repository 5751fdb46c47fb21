import { nameBasedUuid, type NotificationTransition } from '@rf/events';

/**
 * The delivery id of one notification (the `X-RF-Delivery` header): stable per
 * alert (or, for pings, job) × transition × channel, and per reminder number,
 * so every retry carries the same id and a receiver can drop repeats.
 */
export function deliveryId(
  aboutId: string,
  transition: NotificationTransition,
  channelId: string,
  reminder?: number,
): string {
  const which = transition === 'reminder' ? `reminder/${reminder ?? 0}` : transition;
  return nameBasedUuid(`delivery/${aboutId}/${which}/${channelId}`);
}
