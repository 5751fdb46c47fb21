/*
 * Facts the single-file build (scripts/build-agent.js) bakes into the bundle
 * with esbuild `define`. In the tsc build these globals do not exist, so
 * every reader falls back to the source tree (package.json, deploy/).
 */
declare const RF_AGENT_BUILD_VERSION: string | undefined;
declare const RF_AGENT_UNIT_TEMPLATE: string | undefined;

/** The version baked into the bundle; undefined when running from the tsc build. */
export function bundledVersion(): string | undefined {
  return typeof RF_AGENT_BUILD_VERSION === 'string' ? RF_AGENT_BUILD_VERSION : undefined;
}

/** True when this code runs from the single-file agent (restic-fleet-agent.js). */
export function isBundle(): boolean {
  return bundledVersion() !== undefined;
}

/** deploy/systemd/restic-fleet-agent.service as it was at build time (the bundle has no deploy/ beside it). */
export function bundledUnitTemplate(): string | undefined {
  return typeof RF_AGENT_UNIT_TEMPLATE === 'string' ? RF_AGENT_UNIT_TEMPLATE : undefined;
}
