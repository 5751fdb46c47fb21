import * as format from './ui-format';

/** What templates get as `it.fmt`. */
export const fmt = {
  bytes: format.bytes,
  bytesDelta: format.bytesDelta,
  relative: format.relative,
  timestamp: format.timestamp,
  duration: format.duration,
  statusTone: format.statusTone,
  severityTone: format.severityTone,
  ruleLabel: format.ruleLabel,
  fieldMessage: format.fieldMessage,
  cronText: format.cronText,
};
