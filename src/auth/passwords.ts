import argon2 from 'argon2';

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

export async function createPasswords(): Promise<Passwords> {
  const dummy = await argon2.hash('not a real password, only for timing', OPTIONS);
  return {
    hash: (password) => argon2.hash(password, OPTIONS),
    async verify(hash, password) {
      const ok = await argon2.verify(hash ?? dummy, password).catch(() => false);
      return ok && hash !== undefined;
    },
  };
}
