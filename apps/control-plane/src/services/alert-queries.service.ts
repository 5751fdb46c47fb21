import { Injectable } from '@nestjs/common';
import type { AlertFilter } from '@rf/projections';
import { AppError } from '../core/app-error';
import {
  mapAlertResponse,
  mapNotificationChannel,
  type AlertResponse,
  type NotificationChannelResponse,
} from '../dtos/response-mappers';
import { ReadModelsReader } from '../repositories/read-models.reader';

/** How many of a channel's latest deliveries the API and the settings page show. */
export const LAST_DELIVERIES = 10;

/** Alerts and notification channels as the read models see them (docs/alerts.md). */
@Injectable()
export class AlertQueriesService {
  constructor(private readonly reader: ReadModelsReader) {}

  async alerts(filter: AlertFilter): Promise<{ alerts: AlertResponse[] }> {
    const models = await this.reader.fresh();
    return { alerts: models.alerts.list(filter).map(mapAlertResponse) };
  }

  async alert(id: string): Promise<AlertResponse> {
    const models = await this.reader.fresh();
    const alert = models.alerts.get(id);
    if (!alert) throw new AppError('not_found', `alert ${id} does not exist`, { field: 'id' });
    return mapAlertResponse(alert);
  }

  async channels(): Promise<{ channels: NotificationChannelResponse[] }> {
    const models = await this.reader.fresh();
    return {
      channels: models.notifications
        .channels()
        .map((c) => mapNotificationChannel(c, models.notifications.deliveries(c.id, LAST_DELIVERIES))),
    };
  }

  async channel(id: string): Promise<NotificationChannelResponse> {
    const models = await this.reader.fresh();
    const c = models.notifications.channel(id);
    if (!c) throw new AppError('not_found', `notification channel ${id} does not exist`, { field: 'id' });
    return mapNotificationChannel(c, models.notifications.deliveries(id, LAST_DELIVERIES));
  }
}
