import type pg from 'pg';
import { describeTransient } from '../db/transient.js';
import { log } from '../log.js';
import { observeNotificationLag } from '../metrics.js';
import type { Presence } from './presence.js';
import { parseEnvelope, type CreatedMessage, type RoomEvent, type Side } from './envelope-schema.js';
import { RoomFeed } from './room-feed.js';
import type { RoomSocket } from './sockets.js';

export type { CreatedMessage } from './envelope-schema.js';

/**
 * Routes database events to this process's sockets: room events to the room's feed, user events
 * to the user's notification sockets. Keeps one RoomFeed per room that has a local socket.
 */
export class Hub {
  private readonly feeds = new Map<string, RoomFeed>();
  private readonly roomSockets = new Set<RoomSocket>();
  /** Feeds left empty whose last operations may still be running (shutdown waits for them). */
  private readonly retiring = new Set<RoomFeed>();
  private stopped = false;

  constructor(
    private readonly db: pg.Pool,
    private readonly gatewayId: string,
    private readonly presence: Presence,
    /** SendBatcher.settled: a feed reading messages from the table waits for their acks first. */
    private readonly sendsSettled: () => Promise<void>,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Shutdown: no more events, catch-ups or joins; resolves once every feed has finished what it
   * had queued, so nothing queries the database after it.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.feeds.values(), ...this.retiring].map((feed) => feed.settled()));
  }

  joinRoom(ws: RoomSocket, onJoined: () => void): void {
    const roomId = ws.getUserData().roomId;
    let feed = this.feeds.get(roomId);
    if (!feed) {
      feed = new RoomFeed(
        roomId,
        this.db,
        this.gatewayId,
        (empty) => {
          if (this.feeds.get(empty.roomId) !== empty) return;
          this.feeds.delete(empty.roomId);
          this.retiring.add(empty);
          void empty.settled().then(() => this.retiring.delete(empty));
        },
        this.sendsSettled,
      );
      this.feeds.set(roomId, feed);
    }
    this.roomSockets.add(ws);
    feed.join(ws, onJoined);
  }

  leaveRoom(ws: RoomSocket): void {
    this.roomSockets.delete(ws);
    this.feeds.get(ws.getUserData().roomId)?.leave(ws);
  }

  /**
   * Every open room socket of this process, those still catching up included: a sign-out or a
   * shutdown that closes them must not miss one that joins its feed a moment later (a closed
   * socket never joins: RoomFeed.join checks).
   */
  allSockets(): RoomSocket[] {
    return [...this.roomSockets];
  }

  /**
   * After the listener lost its connection, notifications may be lost: every open room is re-read
   * from the table, and every local user gets a fresh badge list (which also shows rooms opened
   * or closed meanwhile).
   */
  catchUp(): void {
    if (this.stopped) return;
    for (const feed of this.feeds.values()) feed.catchUp();
    for (const userId of this.presence.users()) void this.sendUnread(userId);
  }

  /**
   * One NOTIFY payload. It is checked against the envelope's schema (src/realtime/envelope-schema.ts)
   * before anything reads it: an envelope SQL and TypeScript disagree on is logged, not half-relayed.
   */
  dispatch(payload: unknown): void {
    if (this.stopped) return;
    const parsed = parseEnvelope(payload);
    if ('problem' in parsed) {
      log.error(`event does not match the envelope schema: ${parsed.problem}; payload: ${JSON.stringify(payload)?.slice(0, 300)}`);
      return;
    }
    const event = parsed.event;
    // user events are the token cache's (src/auth/revocations.ts), routed there before the hub
    if (event.type === 'user.revoked' || event.type === 'user.deleted') return;
    if (event.type === 'messages.created') {
      for (const message of event.messages) this.onMessage(message);
      return;
    }
    this.dispatchRoomEvent(event);
  }

  /** One stored message: the room's feed, and the recipient's badge. */
  private onMessage(message: CreatedMessage): void {
    observeNotificationLag(message.sent_at);
    this.feeds.get(message.room)?.onMessage(message);
    if (!this.presence.hasUser(message.recipient)) return; // most recipients live on other processes
    this.presence.sendToUser(
      message.recipient,
      JSON.stringify({
        type: 'new_message',
        room_id: message.room,
        id: message.alias,
        message_id: message.id,
        unread_count: message.unread_count,
      }),
    );
  }

  private dispatchRoomEvent(event: RoomEvent): void {
    const feed = this.feeds.get(event.room);
    const [userA, userB] = event.users;
    const userOf = (side: Side) => (side === 'a' ? userA : userB);
    const other = (side: Side): Side => (side === 'a' ? 'b' : 'a');

    switch (event.type) {
      case 'typing': {
        const partner = other(event.side);
        const frame = JSON.stringify({ type: 'typing' });
        feed?.broadcast((ws) => (ws.getUserData().side === partner ? frame : undefined));
        return;
      }
      case 'read.moved': {
        const reader = event.side;
        const frame = JSON.stringify({ type: 'read', id: event.id, read_at: event.read_at });
        feed?.broadcast((ws) => (ws.getUserData().side === other(reader) ? frame : undefined));
        void this.sendUnread(userOf(reader));
        return;
      }
      case 'reaction.changed': {
        const side = event.side;
        const base = { type: 'reaction', message_id: event.message_id };
        const tail = event.action === 'add' ? { emoji: event.emoji, action: 'add' } : { action: 'remove' };
        const own = JSON.stringify({ ...base, user_id: event.user, ...tail });
        const seenByPartner = JSON.stringify({ ...base, user_id: event.alias, ...tail });
        feed?.broadcast((ws) => (ws.getUserData().side === side ? own : seenByPartner));
        return;
      }
      case 'room.created':
        this.presence.sendToUser(event.waiter, JSON.stringify({ type: 'matched', room_id: event.room }));
        return;
      case 'room.closed': {
        const frame = JSON.stringify({ type: 'room_closed', room_id: event.room, reason: event.reason });
        this.presence.sendToUser(userA, frame);
        this.presence.sendToUser(userB, frame);
        feed?.close(event.reason);
        return;
      }
    }
  }

  /** The badge list, for every notification socket of the user in this process. */
  async sendUnread(userId: string): Promise<void> {
    if (this.stopped || !this.presence.hasUser(userId)) return;
    try {
      const { rows } = await this.db.query('select api.unread_counts($1) as rooms', [userId]);
      this.presence.sendToUser(userId, JSON.stringify({ type: 'unread', rooms: rows[0].rooms }));
    } catch (error) {
      log.warn(`unread badges for a user failed: ${describeTransient(error)}`);
    }
  }
}
