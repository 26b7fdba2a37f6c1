import type pg from 'pg';
import { describeTransient } from '../db/transient.js';
import { guard } from '../guard.js';
import { log } from '../log.js';
import { sendFrame, type NotificationSocket } from './sockets.js';

const SYNC_MS = 1000;
/** Every this many syncs the whole local user set is reported, not only the changes. */
const FULL_SYNC_EVERY = 10;

/**
 * The notification sockets of this process, per user, and their presence in the database.
 * Once a second the users that gained or lost their last local socket are reported with
 * api.sync_presence (which is also this process's heartbeat); it answers the number of users
 * online across all processes, pushed to every local socket when it changed: at most once a second.
 */
export class Presence {
  private readonly byUser = new Map<string, Set<NotificationSocket>>();
  private readonly changed = new Set<string>();
  private onlineCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<number> | undefined;
  private syncs = 0;
  private broadcastCount = -1;

  constructor(
    private readonly db: pg.Pool,
    private readonly gatewayId: string,
  ) {}

  start(): void {
    this.timer = setInterval(
      guard('presence sync', () => this.sync().then((count) => this.publishCount(count))),
      SYNC_MS,
    );
    void this.sync();
  }

  /** The online count including this socket's user, for the socket that just connected. */
  async countFor(ws: NotificationSocket): Promise<number> {
    await this.sync();
    if (this.changed.has(ws.getUserData().userId)) await this.sync(); // it arrived during that sync
    return this.onlineCount;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing?.catch(() => {});
    await this.db.query('select api.gateway_stopped($1)', [this.gatewayId]).catch(() => {});
  }

  add(ws: NotificationSocket): void {
    const userId = ws.getUserData().userId;
    let sockets = this.byUser.get(userId);
    if (!sockets) {
      sockets = new Set();
      this.byUser.set(userId, sockets);
    }
    sockets.add(ws);
    this.changed.add(userId);
  }

  remove(ws: NotificationSocket): void {
    const userId = ws.getUserData().userId;
    const sockets = this.byUser.get(userId);
    sockets?.delete(ws);
    if (sockets?.size === 0) this.byUser.delete(userId);
    this.changed.add(userId);
  }

  /** Sends a frame to every local notification socket of a user; false when there is none. */
  sendToUser(userId: string, frame: string): boolean {
    const sockets = this.byUser.get(userId);
    if (!sockets) return false;
    for (const ws of sockets) sendFrame(ws, frame);
    return true;
  }

  hasUser(userId: string): boolean {
    return this.byUser.has(userId);
  }

  users(): string[] {
    return [...this.byUser.keys()];
  }

  allSockets(): NotificationSocket[] {
    return [...this.byUser.values()].flatMap((set) => [...set]);
  }

  /** Reports pending changes (one call at a time) and refreshes the online count. */
  private sync(): Promise<number> {
    if (this.syncing) return this.syncing;
    const online: string[] = [];
    const offline: string[] = [];
    for (const userId of this.changed) (this.byUser.has(userId) ? online : offline).push(userId);
    this.changed.clear();
    // Now and then everything: a process that was paused past the heartbeat limit was declared
    // dead and lost its presence rows; this puts them back within seconds of its return.
    if (++this.syncs % FULL_SYNC_EVERY === 0) {
      const reported = new Set(online);
      for (const userId of this.byUser.keys()) if (!reported.has(userId)) online.push(userId);
    }
    this.syncing = this.db
      .query<{ count: number }>('select api.sync_presence($1, $2, $3) as count', [this.gatewayId, online, offline])
      .then(({ rows }) => (this.onlineCount = rows[0]!.count))
      .catch((error) => {
        // try again next time: nothing is lost, the changes are simply reported later
        for (const userId of [...online, ...offline]) this.changed.add(userId);
        log.warn(`presence sync failed: ${describeTransient(error)}`);
        return this.onlineCount;
      })
      .finally(() => {
        this.syncing = undefined;
      });
    return this.syncing;
  }

  /** Pushes the count to every local socket when it changed since the last push (once a second at most). */
  private publishCount(count: number): void {
    if (count === this.broadcastCount) return;
    this.broadcastCount = count;
    for (const sockets of this.byUser.values()) for (const ws of sockets) sendCount(ws, count);
  }
}

/** online_count for one socket, unless it already has this very count. */
export function sendCount(ws: NotificationSocket, count: number): void {
  const data = ws.getUserData();
  if (data.onlineCount === count) return;
  data.onlineCount = count;
  sendFrame(ws, JSON.stringify({ type: 'online_count', count }));
}
