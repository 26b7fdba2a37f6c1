/**
 * One-line logs on stdout/stderr. Deliberately tiny: the server logs start-up, shutdown and
 * unexpected failures, never request bodies or tokens.
 */
const quiet = process.env.LOG_LEVEL === 'silent';

export const log = {
  info(message: string): void {
    if (!quiet) console.log(`${new Date().toISOString()} ${message}`);
  },
  warn(message: string): void {
    if (!quiet) console.warn(`${new Date().toISOString()} warn: ${message}`);
  },
  error(message: string, error?: unknown): void {
    const detail = error instanceof Error ? ` ${error.stack ?? error.message}` : error ? ` ${String(error)}` : '';
    console.error(`${new Date().toISOString()} error: ${message}${detail}`);
  },
};
