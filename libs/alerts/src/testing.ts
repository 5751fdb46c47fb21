// Test-only entry (`@rf/alerts/testing`): a fleet log against a fake clock, real
// HTTP receivers, an in-memory delivery log. Specs, benches and test/ code only.
export { FleetLog, HOUR, LiveRules, MINUTE, raisedOf, resolvedOf } from './rules/alert-rules.testing';
export {
  deliveryFailure,
  HttpReceiver,
  type ReceivedRequest,
  refusedPort,
  selfSignedCertificate,
} from './channels/testing/http-receiver.testing';
export { MemoryLog, testSealer } from './delivery/testing/memory-log.testing';
export { type ReceivedMail, SmtpReceiver } from './channels/testing/smtp-receiver.testing';
