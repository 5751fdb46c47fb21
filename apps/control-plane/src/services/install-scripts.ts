import type { InstallScriptKind } from '../repositories/agent-delivery.repository';

/** Where the control plane's URL goes in deploy/install/install.{sh,ps1}. */
export const SERVER_URL_PLACEHOLDER = '__RF_SERVER_URL__';

/**
 * Fills the control plane's URL into an install script. Both scripts hold it
 * in a single-quoted string, so only the quote itself needs escaping; the URL
 * was already validated as an http(s) URL at boot (RF_PUBLIC_URL).
 */
export function renderInstallScript(template: string, kind: InstallScriptKind, serverUrl: string): string {
  const parts = template.split(SERVER_URL_PLACEHOLDER);
  if (parts.length !== 2) throw new Error(`install.${kind}: expected ${SERVER_URL_PLACEHOLDER} exactly once`);
  if (/[\r\n]/.test(serverUrl)) throw new Error('the server URL must be one line');
  const quoted = kind === 'sh' ? serverUrl.replace(/'/g, `'\\''`) : serverUrl.replace(/'/g, "''");
  return parts.join(quoted);
}

/** Quotes for a POSIX shell only when needed, so the usual command stays readable. */
export const shellQuote = (value: string): string =>
  /^[A-Za-z0-9_./:@=%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;

const psQuote = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** The one-liners "Add host" shows: the served install script, run with a fresh enrolment token. */
export function installCommands(serverUrl: string, token: string): { linux: string; windows: string } {
  return {
    linux: `curl -fsSL ${shellQuote(`${serverUrl}/agent/install.sh`)} | sudo sh -s -- --token ${shellQuote(token)}`,
    windows: `& ([scriptblock]::Create((irm ${psQuote(`${serverUrl}/agent/install.ps1`)}))) -Token ${psQuote(token)}`,
  };
}
