import { randomBytes } from 'node:crypto';
import { pino, stdSerializers, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';

/**
 * The process's one logger: JSON lines on stdout (pino), or readable lines when stdout is a
 * terminal in development. Levels mean something: `info` is the life of the process, `warn` a
 * failure the process recovers from by itself (an expected transient database failure: one
 * line, no stack), `error` something an operator must act on (with its stack).
 *
 * Secrets never reach the output: fields named token, password or authorization are redacted
 * wherever they sit, and every message and error text is scrubbed of bearer tokens, JWTs and
 * `token=` query parameters before it is written.
 *
 * Call shape: `log.info(msg)`, `log.warn(msg)`, `log.error(msg, error)`, each with optional
 * structured fields; `log.child({ req: id })` gives a logger whose lines all carry those fields.
 */
export type Fields = Record<string, unknown>;

export interface Log {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  /** `detail`: an error (logged on one line: its code and message, no stack) or fields. */
  warn(message: string, detail?: unknown, fields?: Fields): void;
  error(message: string, error?: unknown, fields?: Fields): void;
  /** An access-log line (a request answered, a socket opened): written only with LOG_REQUESTS. */
  access(message: string, fields?: Fields): void;
  child(bindings: Fields): Log;
}

/** LOG_LEVEL values; `silent` keeps only errors (an operator must still see those). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const REDACTED = '[redacted]';
const SECRET_KEYS = ['token', 'password', 'authorization', 'jwt_secret', 'secret'];

/** Bearer credentials, JWT-shaped strings and token= parameters, wherever they appear in a text. */
export function scrub(text: string): string {
  return text
    .replace(/\b(bearer[\s.]+)[\w.~+/=-]+/gi, `$1${REDACTED}`)
    .replace(/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, REDACTED)
    .replace(/([?&;\s"]token=)[^&\s"';]+/gi, `$1${REDACTED}`);
}

function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return scrub(String(error));
  const serialized = stdSerializers.err(error);
  serialized.message = scrub(serialized.message);
  serialized.stack = scrub(serialized.stack);
  return serialized;
}

/** An expected failure on one line: "ECONNREFUSED connect ECONNREFUSED 127.0.0.1:5432". */
function oneLine(error: Error & { code?: unknown }): string {
  return scrub(`${error.code ? `${String(error.code)} ` : ''}${error.message}`.replace(/\s+/g, ' '));
}

function build(level: LogLevel, readable: boolean): Pino {
  const options = {
    level: level === 'silent' ? 'error' : level,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
      censor: REDACTED,
    },
    serializers: { err: serializeError },
    hooks: {
      // the message text itself may quote a URL or a header: scrub it too
      logMethod(this: Pino, args: Parameters<Pino['info']>, method: Pino['info']) {
        const last = args.length - 1;
        if (typeof args[last] === 'string') args[last] = scrub(args[last] as string);
        method.apply(this, args);
      },
    },
  };
  if (readable) {
    return pino(options, pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  // synchronous: the last lines before process.exit are not lost
  return pino(options, pino.destination({ dest: 1, sync: true }));
}

function initialLevel(): LogLevel {
  const level = process.env.LOG_LEVEL as LogLevel | undefined;
  return level && LOG_LEVELS.includes(level) ? level : 'info';
}

let root = build(initialLevel(), false);
let logRequests = false;

/**
 * Applies the validated configuration (server.ts, once at start-up). Readable lines only on a
 * terminal outside production: anything collecting the output gets JSON.
 */
export function configureLog(options: { level: LogLevel; production: boolean; requests: boolean }): void {
  root = build(options.level, Boolean(process.stdout.isTTY) && !options.production);
  logRequests = options.requests;
}

function wrap(current: () => Pino): Log {
  return {
    debug: (message, fields) => current().debug(fields ?? {}, message),
    info: (message, fields) => current().info(fields ?? {}, message),
    warn(message, detail, fields) {
      if (detail instanceof Error) current().warn({ ...fields, reason: oneLine(detail) }, message);
      else current().warn({ ...(detail as Fields | undefined), ...fields }, message);
    },
    error(message, error, fields) {
      current().error(error === undefined ? { ...fields } : { ...fields, err: error }, message);
    },
    access(message, fields) {
      if (logRequests) current().info(fields ?? {}, message);
    },
    child(bindings) {
      const child = current().child(bindings);
      return wrap(() => child);
    },
  };
}

export const log: Log = wrap(() => root);

/**
 * The id of one request or connection: the proxy's X-Request-Id when it is a plain token (so
 * the proxy's access log and ours can be joined), otherwise a new one.
 */
export function requestId(fromProxy: string): string {
  return /^[\w.:-]{1,64}$/.test(fromProxy) ? fromProxy : randomBytes(8).toString('hex');
}
