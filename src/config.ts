import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { LOG_LEVELS, type LogLevel } from './log.js';

/** Everything the server reads from its environment (and `.env`), validated once at start-up. */
export interface Config {
  port: number;
  /** External PostgreSQL, as its owner; undefined means "start the embedded one". */
  databaseUrl: string | undefined;
  /** The request path's login role (chat_authenticator); undefined: derived from databaseUrl. */
  gatewayDatabaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  jwtSecret: Uint8Array;
  roomTtlMs: number;
  corsOrigins: string[] | undefined;
  production: boolean;
  sendBatchMax: number;
  sendBatchMs: number;
  sendLanes: number;
  /** Reverse proxies in front of the server whose X-Forwarded-For / Forwarded is believed (0: none). */
  trustProxy: number;
  /** Registrations a client address may make per hour. */
  registrationsPerHour: number;
  /** argon2 hashes running at once, and waiting, before a 503. */
  hashConcurrency: number;
  hashQueue: number;
  /** Room sockets one user may hold open on one room, in this process. */
  roomSocketsPerUser: number;
  /** Notification sockets one user may hold open, in this process. */
  notificationSocketsPerUser: number;
  /** WebSockets of both kinds one client address may hold open, in this process. */
  socketsPerAddress: number;
  /** Frames one send lane may hold waiting for its next flush; beyond it frames are refused (unavailable). */
  sendQueueMax: number;
  /** Pool joins waiting for the running batch; beyond it /pool/join answers 503 with Retry-After. */
  poolQueueMax: number;
  /** How long a SIGTERM/SIGINT shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
  /** Access logs: one line per request and handshake. */
  logRequests: boolean;
  /** /metrics on a port of its own (not served on `port` then); undefined: on the public port. */
  metricsPort: number | undefined;
  /** Reports from this many distinct users within reportWindowMs suspend an account from the pool for suspensionMs. */
  reportThreshold: number;
  reportWindowMs: number;
  suspensionMs: number;
}

/** Every wrong variable, one line each: all of them are reported at once, then the server exits. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Reads `.env` at the project root without overriding variables already set. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "24h", "5s", "1500ms", "2d" → milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined;
}

/*
 * The problems found in one environment, gathered by the readers below instead of thrown at the
 * first one, so that an operator fixes every wrong variable in one go. Keyed by the environment
 * object so the readers keep their plain (env, name, …) shape.
 */
const problemsOf = new WeakMap<NodeJS.ProcessEnv, string[]>();

/** Records one wrong variable: its name, its value as given (or a description of a secret), what it should be. */
function problem(env: NodeJS.ProcessEnv, name: string, shown: string, expected: string): void {
  if (!problemsOf.has(env)) problemsOf.set(env, []);
  problemsOf.get(env)!.push(`${name}=${shown}: expected ${expected}`);
}

const quoted = (value: string) => JSON.stringify(value);

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\s*-?\d+\s*$/.test(raw) || value < min || value > max) {
    problem(env, name, quoted(raw), `an integer from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (allowed.includes(raw as T)) return raw as T;
  problem(env, name, quoted(raw), `one of ${allowed.join(', ')}`);
  return fallback;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = oneOf(env, name, 'false', ['0', '1', 'false', 'true']);
  return value === '1' || value === 'true';
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string, minMs: number): number {
  const raw = env[name] || fallback;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < minMs) {
    problem(env, name, quoted(raw), `a duration of at least ${minMs / 1000} s, such as 24h, 30m, 90s or 1500ms`);
    return parseDuration(fallback)!;
  }
  return ms;
}

/** A PostgreSQL URL; its password, if any, is never shown. */
function databaseUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || !url.hostname) {
    // shown only when its password can be masked: "host:secret" parses as a URL with scheme "host:"
    if (url?.password) url.password = '***';
    const shown = url?.hostname ? quoted(url.toString()) : '(not a URL with a host, value hidden)';
    problem(env, name, shown, 'a URL such as postgres://user:password@host:5432/database');
  }
  return raw;
}

/** Exact origins, as browsers send them: scheme://host[:port], nothing after. */
function origins(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const list = env[name]
    ?.split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of list ?? []) {
    let exact = false;
    try {
      exact = /^https?:$/.test(new URL(origin).protocol) && new URL(origin).origin === origin;
    } catch {
      // not a URL
    }
    if (!exact) problem(env, name, quoted(origin), 'comma-separated origins such as https://chat.example.com (scheme, host and port only)');
  }
  return list && list.length > 0 ? list : undefined;
}

/** The development secret is generated once and kept, so tokens survive restarts. */
async function developmentSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'jwt-secret');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  await writeFile(file, secret + '\n', { mode: 0o600 });
  return secret;
}

/**
 * Reads and checks every variable. All wrong ones are reported together in one ConfigError
 * (one line each: name, value, what is expected); secrets are described, never shown.
 */
export async function loadConfig(env = process.env): Promise<Config> {
  problemsOf.delete(env);
  const production = oneOf(env, 'NODE_ENV', 'development', ['development', 'production', 'test']) === 'production';
  const dataDir = path.resolve(env.DATA_DIR || '.data');
  const external = databaseUrl(env, env.DATABASE_URL ? 'DATABASE_URL' : 'DB_URL');
  if (production && !external)
    problem(env, 'DATABASE_URL', '(unset)', 'a PostgreSQL URL: NODE_ENV=production does not start the embedded database');
  if (production && !env.JWT_SECRET)
    problem(env, 'JWT_SECRET', '(unset)', 'a secret of at least 32 bytes: NODE_ENV=production does not generate one');
  if (env.JWT_SECRET && Buffer.byteLength(env.JWT_SECRET) < 32) {
    problem(
      env,
      'JWT_SECRET',
      `(${Buffer.byteLength(env.JWT_SECRET)} bytes, value hidden)`,
      'at least 32 bytes (e.g. `openssl rand -base64 48`)',
    );
  }

  const config = {
    port: integer(env, 'PORT', 8080, 0, 65535),
    databaseUrl: external,
    gatewayDatabaseUrl: databaseUrl(env, 'GATEWAY_DATABASE_URL'),
    dataDir,
    embeddedPgPort: integer(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    roomTtlMs: duration(env, 'ROOM_TTL', '24h', 1000),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    production,
    sendBatchMax: integer(env, 'SEND_BATCH_MAX', 256, 1, 10_000),
    sendBatchMs: integer(env, 'SEND_BATCH_MS', 2, 0, 1_000),
    sendLanes: integer(env, 'SEND_LANES', 2, 1, 64),
    trustProxy: integer(env, 'TRUST_PROXY', 0, 0, 10),
    registrationsPerHour: integer(env, 'REGISTRATIONS_PER_HOUR', 20, 1, 1_000_000),
    hashConcurrency: integer(env, 'HASH_CONCURRENCY', availableParallelism(), 1, 64),
    hashQueue: integer(env, 'HASH_QUEUE', 32, 0, 100_000),
    roomSocketsPerUser: integer(env, 'ROOM_SOCKETS_PER_USER', 8, 1, 1_000),
    notificationSocketsPerUser: integer(env, 'NOTIFICATION_SOCKETS_PER_USER', 8, 1, 1_000),
    socketsPerAddress: integer(env, 'SOCKETS_PER_ADDRESS', 1_000, 1, 1_000_000),
    sendQueueMax: integer(env, 'SEND_QUEUE_MAX', 2_048, 1, 1_000_000),
    poolQueueMax: integer(env, 'POOL_QUEUE_MAX', 4_096, 1, 1_000_000),
    shutdownTimeoutMs: duration(env, 'SHUTDOWN_TIMEOUT', '10s', 1000),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    logRequests: flag(env, 'LOG_REQUESTS'),
    metricsPort: env.METRICS_PORT ? integer(env, 'METRICS_PORT', 0, 1, 65535) : undefined,
    reportThreshold: integer(env, 'REPORT_THRESHOLD', 3, 1, 1000),
    reportWindowMs: duration(env, 'REPORT_WINDOW', '24h', 1000),
    suspensionMs: duration(env, 'SUSPENSION_TIME', '24h', 1000),
  };
  if (config.metricsPort !== undefined && config.metricsPort === config.port) {
    problem(env, 'METRICS_PORT', quoted(env.METRICS_PORT!), `a port other than PORT (${config.port}): /metrics is then served there only`);
  }

  const problems = problemsOf.get(env);
  if (problems) throw new ConfigError(problems);
  // only once everything else is right: the development secret is written to DATA_DIR
  const secret = env.JWT_SECRET || (await developmentSecret(dataDir));
  return { ...config, jwtSecret: new TextEncoder().encode(secret) };
}
