import {
  CHANNEL_FIELDS,
  type ChannelKind,
  channelSettingsIssues,
  DEFAULT_NTFY_SERVER,
  type EmailSecurity,
  type EncryptedSecret,
  type FieldIssue,
  type SealedChannelSettings,
} from '@rf/events';

/**
 * Seals and opens secrets at rest. The key stays in the control plane (its
 * SecretBox fits this port); this library never sees it.
 */
export interface SecretSealer {
  seal(plaintext: string): EncryptedSecret;
  open(sealed: EncryptedSecret): string;
}

export interface WebhookSettings {
  readonly url: string;
  readonly secret: string;
}
export interface IncomingWebhookSettings {
  readonly url: string;
}
export interface NtfySettings {
  readonly server: string;
  readonly topic: string;
  readonly token: string | undefined;
}
export interface GotifySettings {
  readonly server: string;
  readonly token: string;
}
export interface EmailSettings {
  readonly host: string;
  readonly port: number;
  readonly security: EmailSecurity;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly from: string;
  readonly to: readonly string[];
}
export interface HealthchecksSettings {
  readonly url: string;
  readonly host_id: string;
  readonly schedule_id: string;
}

/** A channel's settings with secrets opened, typed by kind; held in memory only by the notifier, never stored or shown. */
export type OpenedChannel =
  | { readonly kind: 'webhook'; readonly settings: WebhookSettings }
  | { readonly kind: 'slack' | 'discord' | 'teams'; readonly settings: IncomingWebhookSettings }
  | { readonly kind: 'ntfy'; readonly settings: NtfySettings }
  | { readonly kind: 'gotify'; readonly settings: GotifySettings }
  | { readonly kind: 'email'; readonly settings: EmailSettings }
  | { readonly kind: 'healthchecks'; readonly settings: HealthchecksSettings };

export type ChannelSettingsErrorCode = 'invalid_channel_settings' | 'channel_secret_unavailable';

export class ChannelSettingsError extends Error {
  constructor(
    readonly code: ChannelSettingsErrorCode,
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'ChannelSettingsError';
  }
}

/** What the API shows of a secret: whether it is set, never its value. */
export interface SecretState {
  readonly set: boolean;
}
export type MaskedChannelSettings = Readonly<
  Record<string, string | number | readonly string[] | SecretState>
>;

const isSealed = (v: unknown): v is EncryptedSecret =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Turns settings an operator entered into what `ChannelConfigured` stores:
 * validated field by field, every secret sealed. On an edit, `previous` holds
 * the stored settings; a secret left out (or empty) keeps its stored value,
 * since the API never shows secrets back.
 */
export function sealChannelSettings(
  kind: ChannelKind,
  plain: unknown,
  sealer: SecretSealer,
  previous?: SealedChannelSettings,
): SealedChannelSettings {
  const stored = new Set(
    CHANNEL_FIELDS[kind].filter((f) => f.secret && isSealed(previous?.[f.name])).map((f) => f.name),
  );
  const issues = channelSettingsIssues(kind, plain, 'settings', 'plain', stored);
  if (issues.length > 0)
    throw new ChannelSettingsError(
      'invalid_channel_settings',
      issues.map((i) => i.message).join('; '),
      issues,
    );
  const input = plain as Readonly<Record<string, string | number | readonly string[]>>;
  const out: Record<string, string | number | readonly string[] | EncryptedSecret> = {};
  for (const f of CHANNEL_FIELDS[kind]) {
    const v = input[f.name];
    const given = v !== undefined && v !== null && v !== '';
    if (f.secret) {
      if (given) out[f.name] = sealer.seal(String(v));
      else if (stored.has(f.name)) out[f.name] = previous?.[f.name] as EncryptedSecret;
    } else if (given) out[f.name] = v;
  }
  return out;
}

/** Stored settings as the API shows them: secrets as `{set}`. */
export function maskChannelSettings(kind: ChannelKind, sealed: SealedChannelSettings): MaskedChannelSettings {
  const out: Record<string, string | number | readonly string[] | SecretState> = {};
  for (const f of CHANNEL_FIELDS[kind]) {
    const v = sealed[f.name];
    if (f.secret) out[f.name] = { set: isSealed(v) };
    else if (v !== undefined && !isSealed(v)) out[f.name] = v;
  }
  return out;
}

/** Stored settings with secrets opened, typed by kind. Throws ChannelSettingsError when they cannot be used. */
export function openChannel(
  kind: ChannelKind,
  sealed: SealedChannelSettings,
  sealer: SecretSealer,
): OpenedChannel {
  const issues = channelSettingsIssues(kind, sealed, 'settings', 'sealed');
  if (issues.length > 0)
    throw new ChannelSettingsError(
      'invalid_channel_settings',
      issues.map((i) => i.message).join('; '),
      issues,
    );
  const text = (name: string): string => sealed[name] as string;
  const optionalText = (name: string): string | undefined =>
    typeof sealed[name] === 'string' ? (sealed[name] as string) : undefined;
  const secret = (name: string): string => {
    try {
      return sealer.open(sealed[name] as EncryptedSecret);
    } catch (err) {
      throw new ChannelSettingsError(
        'channel_secret_unavailable',
        `the channel's ${name} cannot be decrypted (${(err as Error).message}); enter it again`,
      );
    }
  };
  const optionalSecret = (name: string): string | undefined =>
    isSealed(sealed[name]) ? secret(name) : undefined;
  switch (kind) {
    case 'webhook':
      return { kind, settings: { url: secret('url'), secret: secret('secret') } };
    case 'slack':
    case 'discord':
    case 'teams':
      return { kind, settings: { url: secret('url') } };
    case 'ntfy':
      return {
        kind,
        settings: {
          server: optionalText('server') ?? DEFAULT_NTFY_SERVER,
          topic: text('topic'),
          token: optionalSecret('token'),
        },
      };
    case 'gotify':
      return { kind, settings: { server: text('server'), token: secret('token') } };
    case 'email': {
      const security = text('security') as EmailSecurity;
      const port = typeof sealed.port === 'number' ? sealed.port : security === 'tls' ? 465 : 587;
      return {
        kind,
        settings: {
          host: text('host'),
          port,
          security,
          username: optionalText('username'),
          password: optionalSecret('password'),
          from: text('from'),
          to: sealed.to as readonly string[],
        },
      };
    }
    case 'healthchecks':
      return {
        kind,
        settings: { url: secret('url'), host_id: text('host_id'), schedule_id: text('schedule_id') },
      };
    default: {
      const _exhaustive: never = kind;
      return _exhaustive;
    }
  }
}
