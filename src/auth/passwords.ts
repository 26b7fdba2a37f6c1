import argon2 from 'argon2';
import { HttpError } from '../http/errors.js';

/** OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane. */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

export interface Passwords {
  hash(password: string): Promise<string>;
  /**
   * Checks a password against a hash, or against a fixed dummy hash when the user does not exist,
   * so that an unknown user and a wrong password take the same time.
   */
  verify(hash: string | undefined, password: string): Promise<boolean>;
}

export interface HashLimits {
  /** argon2 computations running at once (each takes a core for tens of milliseconds). */
  concurrency: number;
  /** Computations waiting for a turn; one more is refused at once. */
  queue: number;
}

/**
 * Every hash and verification goes through one bounded queue: a burst of anonymous requests
 * can keep the cores busy, but never build a backlog that answers minutes later. Past the queue,
 * the request is a 503 with Retry-After, at once.
 */
export async function createPasswords(limits: HashLimits): Promise<Passwords> {
  const dummy = await argon2.hash('not a real password, only for timing', OPTIONS);
  const turn = boundedQueue(limits);
  return {
    hash: (password) => turn(() => argon2.hash(password, OPTIONS)),
    async verify(hash, password) {
      const ok = await turn(() => argon2.verify(hash ?? dummy, password).catch(() => false));
      return ok && hash !== undefined;
    },
  };
}

function boundedQueue({ concurrency, queue }: HashLimits) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running < concurrency) {
      running++;
    } else if (waiting.length < queue) {
      await new Promise<void>((resolve) => waiting.push(resolve)); // the finishing one hands its turn over
    } else {
      throw new HttpError(503, 'the server is busy, retry in a moment', 'unavailable', undefined, { 'retry-after': '1' });
    }
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
