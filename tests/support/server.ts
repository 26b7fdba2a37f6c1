import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import type pg from 'pg';
import { startApp, type RunningApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { connect, createTestDatabase, type TestDatabase } from './database.js';
import { TEST_JWT_SECRET } from './secret.js';

export { TEST_JWT_SECRET };

export interface TestServer {
  url: string;
  wsUrl: string;
  db: TestDatabase;
  app: RunningApp;
  /** Stops the gateway; `keepDatabase` leaves the database for a restart on it. */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    databaseUrl: undefined,
    gatewayDatabaseUrl: undefined,
    dataDir: '.data',
    embeddedPgPort: 0,
    jwtSecret: new TextEncoder().encode(TEST_JWT_SECRET),
    roomTtlMs: 24 * 3_600_000,
    corsOrigins: undefined,
    production: false,
    sendBatchMax: 256,
    sendBatchMs: 2,
    sendLanes: 2,
    trustProxy: 0,
    // the tests register hundreds of users from 127.0.0.1, many at once
    registrationsPerHour: 1_000_000,
    hashConcurrency: 2,
    hashQueue: 10_000,
    roomSocketsPerUser: 8,
    notificationSocketsPerUser: 8,
    socketsPerAddress: 1_000,
    sendQueueMax: 2_048,
    poolQueueMax: 4_096,
    shutdownTimeoutMs: 10_000,
    logLevel: 'silent',
    logRequests: false,
    metricsPort: undefined,
    reportThreshold: 3,
    reportWindowMs: 24 * 3_600_000,
    suspensionMs: 24 * 3_600_000,
    ...overrides,
  };
}

/** A gateway in this process, on port 0, on a fresh database (or the one given). */
export async function startTestServer(overrides: Partial<Config> = {}, database?: TestDatabase): Promise<TestServer> {
  const db = database ?? (await createTestDatabase());
  const app = await startApp(testConfig(overrides), db.url);
  return {
    url: `http://127.0.0.1:${app.port}`,
    wsUrl: `ws://127.0.0.1:${app.port}`,
    db,
    app,
    async close(options = {}) {
      await app.close();
      if (!options.keepDatabase) await db.drop();
    },
  };
}

export interface ServerProcess {
  url: string;
  wsUrl: string;
  child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** A real server process (dist/src/server.js) on an existing database, on a free port. */
export async function spawnServerProcess(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      REGISTRATIONS_PER_HOUR: '1000000',
      HASH_QUEUE: '10000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on http:\/\/localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * The usual fixture of an HTTP test file: a server on a database of its own and an owner
 * connection to that database, made before the file's (or suite's) tests and closed after them.
 */
export function withTestServer(use: (server: TestServer, owner: pg.Client) => void, overrides: Partial<Config> = {}): void {
  let server: TestServer | undefined;
  let owner: pg.Client | undefined;
  before(async () => {
    server = await startTestServer(overrides);
    owner = await connect(server.db.url);
    use(server, owner);
  });
  after(async () => {
    await owner?.end();
    await server?.close();
  });
}
