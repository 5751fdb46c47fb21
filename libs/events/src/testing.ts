// Test-only entry (`@rf/events/testing`): valid samples of every catalog type
// and wire payload. Specs and test/ code only; production code never imports it.
export {
  ALERT,
  CHANNEL,
  clone,
  ENVELOPE_ID,
  HOST,
  JOB,
  REPO,
  REPO_2,
  REPOSITORY_SCHEDULES,
  SAMPLE_ARGS,
  SAMPLE_EVENTS,
  SAMPLE_METADATA,
  SCHEDULES,
  SNAPSHOT,
  T0,
  T1,
} from './catalog/catalog-samples.testing';
export { rawEnvelope, SAMPLE_PAYLOADS } from './wire/wire-samples.testing';
