/**
 * @sluice/server: a Sluice node. `startServer(options)` runs one in this process; the CLI
 * `sluice-server` (cli.ts) runs one as a process. Tokens for a node started with an auth secret are
 * minted with `mintToken` (or `sluice-server token`).
 */
export { startServer, type SluiceServer } from './server.js';
export type { Health } from './metrics/metrics-http.js';
export {
  ConfigError,
  DEFAULT_CONFIG,
  LOG_LEVELS,
  helpText,
  parseConfig,
  type LogLevel,
  type ServerConfig,
  type ServerOptions,
} from './config.js';
export { StaticRoles } from './cluster/static-roles.js';
export type { ContainerRole, ContainerRoles, Role, ServedClusterMap } from './cluster/container-roles.js';
export { createLogger } from './logger.js';
export { mintToken, parseDuration, parseRights, type MintOptions, type Right } from './auth/index.js';
