/** Why a receiver did not accept a notification. */
export type DeliveryErrorCode =
  | 'refused'
  | 'unreachable'
  | 'dns'
  | 'timeout'
  | 'reset'
  | 'tls'
  | 'redirect'
  | 'http_status'
  | 'smtp_auth'
  | 'smtp_rejected'
  | 'smtp'
  | 'invalid_channel_settings'
  | 'channel_secret_unavailable'
  | 'failed';

/**
 * A delivery that did not succeed, with a message for the operator that names
 * the receiver by host and port only (channel URLs may carry tokens). `retryable`
 * is false when trying again cannot help (the receiver said the request itself is wrong).
 */
export class DeliveryError extends Error {
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

interface SystemErrorLike {
  readonly code?: unknown;
  readonly address?: unknown;
  readonly port?: unknown;
  readonly hostname?: unknown;
  readonly message?: unknown;
}

const TLS_CODES = /^(?:ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(?:VERIFY|GET)_|ERR_SSL_|EPROTO$)/;

/**
 * Maps a socket-level failure (from fetch's `cause` or an SMTP client) to a
 * clear error. `target` is `host:port` as configured; `what` names the
 * receiver in the advice ("receiver", "SMTP server").
 */
export function networkError(cause: unknown, target: string, what: string, timeoutS: number): DeliveryError {
  const e = (typeof cause === 'object' && cause !== null ? cause : {}) as SystemErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const where =
    typeof e.address === 'string' && typeof e.port === 'number' ? `${e.address}:${e.port}` : target;
  switch (code) {
    case 'ECONNREFUSED':
      return new DeliveryError('refused', `connection refused by ${where} — is the ${what} running?`, true);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DeliveryError(
        'dns',
        `the host name of ${target} could not be resolved (DNS) — check the address`,
        true,
      );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new DeliveryError(
        'unreachable',
        `${target} is unreachable from the control plane (no route to it)`,
        true,
      );
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new DeliveryError('timeout', `no answer from ${target} within ${timeoutS} s`, true);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return new DeliveryError('reset', `${where} closed the connection before answering`, true);
    default:
      if (TLS_CODES.test(code))
        return new DeliveryError(
          'tls',
          `the TLS connection to ${target} failed (${code}): its certificate is not trusted or does not match the name`,
          true,
        );
      return new DeliveryError(
        'failed',
        `could not reach ${target}: ${typeof e.message === 'string' ? e.message : code || 'unknown error'}`,
        true,
      );
  }
}
