import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';

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
}

export class ConfigError extends Error {}

/** Reads `.env` at the project root without overriding variables already set. */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "24h", "5s", "1500ms", "2d" → milliseconds. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) throw new ConfigError(`invalid duration "${text}" (use e.g. 24h, 30m, 5s, 500ms)`);
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms < 1000) throw new ConfigError(`duration "${text}" is shorter than one second`);
  return ms;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}`);
  }
  return value;
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

export async function loadConfig(env = process.env): Promise<Config> {
  const production = env.NODE_ENV === 'production';
  const databaseUrl = env.DATABASE_URL || env.DB_URL || undefined;
  const dataDir = path.resolve(env.DATA_DIR || '.data');

  if (production && !databaseUrl) throw new ConfigError('NODE_ENV=production requires DATABASE_URL');
  if (production && !env.JWT_SECRET) throw new ConfigError('NODE_ENV=production requires JWT_SECRET');
  const secret = env.JWT_SECRET || (await developmentSecret(dataDir));
  if (Buffer.byteLength(secret) < 32) throw new ConfigError('JWT_SECRET must be at least 32 bytes');

  const origins = env.CORS_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean);
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    databaseUrl,
    gatewayDatabaseUrl: env.GATEWAY_DATABASE_URL || undefined,
    dataDir,
    embeddedPgPort: integer(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
    jwtSecret: new TextEncoder().encode(secret),
    roomTtlMs: parseDuration(env.ROOM_TTL || '24h'),
    corsOrigins: origins && origins.length > 0 ? origins : undefined,
    production,
    sendBatchMax: integer(env, 'SEND_BATCH_MAX', 256, 1, 10_000),
    sendBatchMs: integer(env, 'SEND_BATCH_MS', 2, 0, 1_000),
    sendLanes: integer(env, 'SEND_LANES', 2, 1, 16),
    trustProxy: integer(env, 'TRUST_PROXY', 0, 0, 10),
    registrationsPerHour: integer(env, 'REGISTRATIONS_PER_HOUR', 20, 1, 1_000_000),
    hashConcurrency: integer(env, 'HASH_CONCURRENCY', availableParallelism(), 1, 64),
    hashQueue: integer(env, 'HASH_QUEUE', 32, 0, 100_000),
    roomSocketsPerUser: integer(env, 'ROOM_SOCKETS_PER_USER', 8, 1, 1_000),
    notificationSocketsPerUser: integer(env, 'NOTIFICATION_SOCKETS_PER_USER', 8, 1, 1_000),
    socketsPerAddress: integer(env, 'SOCKETS_PER_ADDRESS', 1_000, 1, 1_000_000),
    sendQueueMax: integer(env, 'SEND_QUEUE_MAX', 2_048, 1, 1_000_000),
    poolQueueMax: integer(env, 'POOL_QUEUE_MAX', 4_096, 1, 1_000_000),
    shutdownTimeoutMs: parseDuration(env.SHUTDOWN_TIMEOUT || '10s'),
  };
}
