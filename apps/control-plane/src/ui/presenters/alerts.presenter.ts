import { Injectable } from '@nestjs/common';
import { ALERT_RULES } from '@rf/events';
import type { AlertRecord } from '@rf/projections';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { ruleLabel } from '../ui-format';

/** An alert as the pages show it. */
export interface AlertItem {
  readonly id: string;
  readonly rule: string;
  readonly ruleLabel: string;
  readonly severity: string;
  readonly state: string;
  readonly summary: string;
  readonly host: { readonly id: string; readonly name: string } | null;
  readonly raisedAt: string;
  readonly acknowledged: { readonly at: string; readonly by: string; readonly note: string | null } | null;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
}

export interface AlertFilterChoice {
  readonly host: string;
  readonly rule: string;
}

export interface AlertsPage {
  readonly now: Date;
  readonly open: AlertItem[];
  readonly history: AlertItem[];
  readonly filter: AlertFilterChoice;
  readonly hosts: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  readonly rules: ReadonlyArray<{ readonly id: string; readonly label: string }>;
}

/** How many past alerts the Alerts page lists. */
const HISTORY = 100;

export function alertItem(a: AlertRecord): AlertItem {
  return {
    id: a.id,
    rule: a.rule,
    ruleLabel: ruleLabel(a.rule),
    severity: a.severity,
    state: a.state,
    summary: a.summary,
    host: a.hostId === null ? null : { id: a.hostId, name: a.hostname ?? a.hostId },
    raisedAt: a.raisedAt,
    acknowledged: a.acknowledged
      ? { at: a.acknowledged.at, by: a.acknowledged.byName ?? a.acknowledged.by, note: a.acknowledged.note }
      : null,
    resolvedAt: a.resolvedAt,
    resolution: a.resolution,
  };
}

export const ALERT_RULE_CHOICES = ALERT_RULES.map((id) => ({ id, label: ruleLabel(id) }));

/** The Alerts page: open alerts first, then the history, filtered by host and rule. */
@Injectable()
export class AlertsPresenter {
  constructor(private readonly reader: ReadModelsReader) {}

  async page(filter: AlertFilterChoice, now: Date): Promise<AlertsPage> {
    const models = await this.reader.fresh();
    const q = {
      ...(filter.host ? { hostId: filter.host } : {}),
      ...(filter.rule ? { rule: filter.rule } : {}),
    };
    return {
      now,
      open: models.alerts.list({ ...q, state: 'open', limit: 1000 }).map(alertItem),
      history: models.alerts.list({ ...q, state: 'resolved', limit: HISTORY }).map(alertItem),
      filter,
      hosts: models.hosts
        .list({ includeRevoked: true })
        .map((h) => ({ id: h.id, name: h.hostname ?? h.id }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      rules: ALERT_RULE_CHOICES,
    };
  }
}
