import type { HunzeConfigFile } from './config.schema';

/**
 * The one typed configuration object, injected everywhere (no `process.env` outside src/config).
 * `file` has secrets resolved; `fingerprint` identifies the configuration without them.
 */
export abstract class HunzeConfig {
  abstract readonly file: HunzeConfigFile;
  /** SHA-256 (hex) of the canonical config, with secrets kept as their `env:NAME` references. */
  abstract readonly fingerprint: string;
  abstract readonly sourcePath: string;
  /** PEM certificates of each https upstream's `tls.ca`, by upstream id, read when the config loaded. */
  abstract readonly upstreamCas: ReadonlyMap<string, string>;
  /** The config as written (env overrides applied), secrets only as their `env:NAME` reference or `<redacted>`. */
  abstract readonly redactedDocument: unknown;
  /** Postgres connection string; unset means the embedded PGlite database in `dataDir`. */
  abstract readonly databaseUrl: string | undefined;
  abstract readonly dataDir: string;
  abstract readonly redisUrl: string | undefined;
  /** pino level for the metadata log (HUNZE_LOG_LEVEL, default info). */
  abstract readonly logLevel: string;
}
