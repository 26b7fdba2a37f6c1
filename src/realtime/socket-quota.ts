import { HttpError } from '../http/errors.js';

export interface SocketLimits {
  roomSocketsPerUser: number;
  notificationSocketsPerUser: number;
  socketsPerAddress: number;
}

/** One socket's place under its limits, held from the handshake until the socket closes. */
export interface SocketSlot {
  /** Gives the place back; safe to call more than once. */
  release(): void;
}

/**
 * How many WebSockets this process holds per user and per client address. A handshake takes its
 * place at the end of its checks, synchronously with the count it was checked against, so
 * concurrent handshakes cannot overshoot a limit; the place is given back when the socket closes
 * (or when the client went away before the upgrade). A full limit refuses the handshake with 429,
 * before the upgrade.
 */
export class SocketQuota {
  private readonly counts = new Map<string, number>();

  constructor(private readonly limits: SocketLimits) {}

  reserveRoom(address: string, userId: string, roomId: string): SocketSlot {
    return this.reserve([
      [`room:${userId}:${roomId}`, this.limits.roomSocketsPerUser, 'too many sockets for this user in this room'],
      [`address:${address}`, this.limits.socketsPerAddress, 'too many sockets from this address'],
    ]);
  }

  reserveNotifications(address: string, userId: string): SocketSlot {
    return this.reserve([
      [`notifications:${userId}`, this.limits.notificationSocketsPerUser, 'too many notification sockets for this user'],
      [`address:${address}`, this.limits.socketsPerAddress, 'too many sockets from this address'],
    ]);
  }

  /** Sockets counted under one key (tests and metrics). */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  private reserve(claims: Array<[key: string, limit: number, refusal: string]>): SocketSlot {
    for (const [key, limit, refusal] of claims) {
      if (this.count(key) >= limit) throw new HttpError(429, `${refusal} (at most ${limit})`, 'too_many_sockets');
    }
    for (const [key] of claims) this.counts.set(key, this.count(key) + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        for (const [key] of claims) {
          const left = this.count(key) - 1;
          if (left > 0) this.counts.set(key, left);
          else this.counts.delete(key); // an empty key costs nothing
        }
      },
    };
  }
}
