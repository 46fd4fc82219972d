// `hunze serve`: start the appliance, announce it, and stop cleanly on SIGTERM/SIGINT.
import { readCliEndpoint, newCliToken, removeCliEndpoint, writeCliEndpoint } from './auth/local-cli-token';
import type { HunzeConfig } from './config/hunze-config';
import { usesEmbeddedDatabase } from './database/data-source';
import { createApp } from './main';
import { installCrashGuard } from './telemetry/crash-guard';
import { AppLogger } from './telemetry/logger';

export async function serve(config: HunzeConfig): Promise<void> {
  const logger = new AppLogger(config.logLevel);
  installCrashGuard(logger);
  const embedded = usesEmbeddedDatabase(config);
  if (embedded) {
    const running = readCliEndpoint(config.dataDir);
    if (running) throw new Error(`another Hunze process (pid ${running.pid}) is using ${config.dataDir}`);
  }
  const cliToken = embedded ? newCliToken() : undefined;
  const app = await createApp({ config, logger, cliToken });
  const { host, port } = config.file.server;
  await app.listen(port, host);
  const address = (await app.getUrl()).replace('[::1]', 'localhost');
  if (cliToken) writeCliEndpoint(config.dataDir, { pid: process.pid, url: address, token: cliToken });
  process.once('exit', () => removeCliEndpoint(config.dataDir, process.pid));
  logger.event('started', {
    address,
    fingerprint: config.fingerprint,
    database: embedded ? 'pglite' : 'postgres',
  });
  process.stderr.write(
    `\nHunze is listening on ${address} (config ${config.sourcePath}, fingerprint ${config.fingerprint.slice(0, 12)}).\n` +
      `Create your first API key:  npx hunze keys create --name my-first-key\n` +
      `Then: curl ${address}/v1/models -H "Authorization: Bearer <key>"\n\n`,
  );
}
