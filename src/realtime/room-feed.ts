import type pg from 'pg';
import { log } from '../log.js';
import { describeTransient, isTransientDatabaseError } from '../db/transient.js';
import { closeSocket, sendFrame, type RoomSocket, type RoomSocketData } from './sockets.js';

/** A stored message as the feed needs it to address both sides of the room. */
export interface FeedMessage {
  seq: number;
  id: string;
  side: 'a' | 'b';
  sender: string;
  alias: string;
  content: string | null;
  client_id: string | null;
  sent_at: string;
  /** `${gatewayId}:${socketId}` of the socket that sent it, when known: it gets the ack instead. */
  origin?: string | null;
}

/** Rows per read of the table: what a resume or a refill holds in memory at most. */
const PAGE = 1000;

/**
 * The live feed of one room in this process: its local sockets and the last seq they have all
 * been given. Every operation on a room (a live message, a socket joining, a refill after the
 * listener reconnected, the room closing) runs in one promise chain, so a resuming socket is
 * filled from the table and then joins the live stream at exactly the right seq: no gap, no
 * duplicate. A message whose seq leaves a gap (a notification was lost, or too big to carry its
 * content) is read back from the table before anything later is delivered.
 */
export class RoomFeed {
  /** Seq every socket of the feed has been given; -1 before the first socket joined. */
  private seq = -1;
  private readonly sockets = new Set<RoomSocket>();
  private chain: Promise<void> = Promise.resolve();
  private joining = 0;

  constructor(
    readonly roomId: string,
    private readonly db: pg.Pool,
    private readonly gatewayId: string,
    private readonly onEmpty: (feed: RoomFeed) => void,
    /** Resolves once the send batches running now have acked their senders (SendBatcher.settled). */
    private readonly sendsSettled: () => Promise<void>,
    private readonly pageSize = PAGE,
  ) {}

  get isEmpty(): boolean {
    return this.sockets.size === 0 && this.joining === 0;
  }

  /** Catches a new socket up from its resume point, then adds it to the live stream. */
  join(ws: RoomSocket, onJoined: () => void): void {
    this.joining++;
    this.run(async () => {
      try {
        const data = ws.getUserData();
        if (data.closed) return;
        const fresh = this.seq < 0;
        const from = data.afterSeq ?? (fresh ? data.lastSeqAtHandshake : this.seq);
        if (fresh) {
          // A new feed delivers what was stored since the resume point, which becomes its seq.
          this.seq = from;
          await this.readPages(from, (page) => {
            for (const message of page) this.deliver(message, ws);
            return !data.closed;
          });
        } else {
          // the socket has seen more than the feed (the listener lags): bring the feed up first
          if (from > this.seq) await this.refill();
          // Behind a live feed: replay up to the feed's seq only. A later message is left to its
          // event, which comes next and names the socket that sent it: read from the table, it
          // would be echoed to that socket as own_message. (A socket joining a live feed at its
          // seq, every tab after the first, has nothing to read.)
          const upTo = this.seq;
          if (from < upTo) {
            await this.readPages(
              from,
              (page) => {
                for (const message of page) this.sendTo(ws, message);
                return !data.closed;
              },
              upTo,
            );
          }
        }
        if (data.closed) return;
        this.sockets.add(ws);
        data.joined = true;
        onJoined();
      } catch (error) {
        const reason = closedReason(error);
        if (reason) {
          this.closeSocket(ws, reason); // the room closed between the handshake and now
        } else {
          // never a socket left open but deaf: the client reconnects and resumes
          if (isTransientDatabaseError(error))
            log.warn(`room feed ${this.roomId}: a socket could not join (${describeTransient(error)}), it reconnects`);
          else log.error(`room feed ${this.roomId}: a socket could not join`, error);
          closeSocket(ws, 1011, 'could not join the room, reconnect');
        }
      } finally {
        // A feed left without sockets (this one stopped half-way, fell behind, or failed) keeps
        // no position: the next socket starts it afresh from its own resume point.
        if (this.sockets.size === 0) this.seq = -1;
        this.joining--;
        if (this.isEmpty) this.onEmpty(this);
      }
    });
  }

  /** Resolves once every operation queued on the feed has run (shutdown, after nothing queues more). */
  async settled(): Promise<void> {
    for (let chain = this.chain; ; chain = this.chain) {
      await chain;
      if (chain === this.chain) return;
    }
  }

  members(): RoomSocket[] {
    return [...this.sockets];
  }

  leave(ws: RoomSocket): void {
    this.sockets.delete(ws);
    if (this.isEmpty) this.onEmpty(this);
  }

  /** A stored message announced by the listener (messages.created). */
  onMessage(message: FeedMessage): void {
    this.run(async () => {
      if (message.seq <= this.seq || this.seq < 0) return;
      if (message.seq > this.seq + 1 || message.content === null) {
        await this.refill(message); // a gap, or a content too large for NOTIFY: read from the table
        return;
      }
      this.deliver(message);
    });
  }

  /** Re-reads everything after the feed's seq (after the listener reconnected). */
  catchUp(): void {
    this.run(() => this.refill());
  }

  /** Frames for every local socket of the room, in order with the messages (typing, read, reaction). */
  broadcast(frameFor: (ws: RoomSocket) => string | undefined): void {
    this.run(async () => {
      for (const ws of this.sockets) {
        const frame = frameFor(ws);
        if (frame) sendFrame(ws, frame);
      }
    });
  }

  /** The room closed or expired: every socket gets room_closed, then a close. */
  close(reason: string): void {
    this.run(async () => this.closeAll(reason));
  }

  private closeAll(reason: string): void {
    for (const ws of this.sockets) this.closeSocket(ws, reason);
  }

  private closeSocket(ws: RoomSocket, reason: string): void {
    sendFrame(ws, JSON.stringify({ type: 'room_closed', room_id: this.roomId, reason }));
    closeSocket(ws, 1000, `room ${reason}`);
  }

  private run(op: () => Promise<void>): void {
    this.chain = this.chain.then(op).catch((error) => log.error(`room feed ${this.roomId}`, error));
  }

  /**
   * Delivers what the table holds after the feed's seq. With `announced` (the event that showed a
   * gap or came without content) only up to that message, which keeps its event's origin: later
   * ones have their own events coming, naming the socket that sent them (no own_message echo).
   * Messages read from the table carry no origin; a socket of this process that sent one knows it
   * by its ack (RoomSocketData.ackedSeqs), once the send batches running now have answered.
   */
  private async refill(announced?: FeedMessage): Promise<void> {
    if (this.seq < 0) return;
    let sendsSettled = false;
    try {
      await this.readPages(
        this.seq,
        async (page) => {
          for (const message of page) {
            if (message.seq <= this.seq) continue;
            if (announced && message.seq > announced.seq) return false;
            if (message.seq === announced?.seq) {
              this.deliver({ ...message, origin: announced.origin });
              continue;
            }
            if (!sendsSettled) {
              await this.sendsSettled();
              sendsSettled = true;
            }
            this.deliver(message);
          }
          return true;
        },
        announced?.seq,
      );
    } catch (error) {
      const reason = closedReason(error);
      if (reason) return this.closeAll(reason); // its room.closed event was lost with the connection
      // Messages are committed that these sockets cannot be given now: rather than leave them
      // behind silently, close the sockets (1013, try again later); they resume by seq.
      if (isTransientDatabaseError(error))
        log.warn(`room feed ${this.roomId}: refill failed (${describeTransient(error)}), its sockets resume`);
      else log.error(`room feed ${this.roomId}: refill failed`, error);
      for (const ws of this.sockets) closeSocket(ws, 1013, 'missed messages, reconnect and resume');
    }
  }

  /**
   * Reads the table after `seq` (up to `upTo`) one page at a time: `use` has handled a page (sent
   * its frames) before the next one is read, so a long backlog never sits in memory whole. Stops
   * when `use` answers false or the table has no more.
   */
  private async readPages(seq: number, use: (page: FeedMessage[]) => boolean | Promise<boolean>, upTo = Infinity): Promise<void> {
    for (let after = seq; after < upTo; ) {
      // never more than asked for: a gap of one big message must not read the rest of the room
      const limit = Math.min(this.pageSize, upTo - after);
      const { rows } = await this.db.query<FeedMessage>(
        'select seq::float8 as seq, id, side, sender, alias, content, client_id, sent_at from api.room_feed($1, $2, $3)',
        [this.roomId, after, limit],
      );
      if (rows.length === 0 || !(await use(rows)) || rows.length < limit) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** Gives a new message to every socket of the feed (and `extra`, a socket still joining). */
  private deliver(message: FeedMessage, extra?: RoomSocket): void {
    this.seq = message.seq;
    const forPartner = JSON.stringify(frame('message', message, message.alias));
    const forSender = JSON.stringify(frame('own_message', message, message.sender));
    const origin = message.origin;
    for (const ws of extra ? [...this.sockets, extra] : this.sockets) {
      const data = ws.getUserData();
      if (data.side !== message.side) sendFrame(ws, forPartner);
      // the socket that sent it has its ack instead: named by the event, or known by its ack
      else if (!wasAckedTo(data, message.seq) && origin !== `${this.gatewayId}:${data.id}`) sendFrame(ws, forSender);
    }
  }

  /** Replays one stored message to one socket only (it is behind the rest of the feed). */
  private sendTo(ws: RoomSocket, message: FeedMessage): void {
    const mine = ws.getUserData().side === message.side;
    sendFrame(ws, JSON.stringify(mine ? frame('own_message', message, message.sender) : frame('message', message, message.alias)));
  }
}

/**
 * Whether the socket was acked this seq; forgets it and every older seq, which the feed has now
 * passed (acks arrive in seq order, a little before or after their message's event).
 */
function wasAckedTo(data: RoomSocketData, seq: number): boolean {
  if (data.ackedSeqs.size === 0) return false;
  const acked = data.ackedSeqs.has(seq);
  for (const older of data.ackedSeqs) if (older <= seq) data.ackedSeqs.delete(older);
  return acked;
}

/** closed / expired when api.room_feed refused because the room is no longer open. */
function closedReason(error: unknown): string | undefined {
  const code = (error as { code?: string })?.code;
  return code === 'CRCLO' ? 'closed' : code === 'CREXP' ? 'expired' : undefined;
}

/** The partner's frame carries no client_id: it is the sender's own bookkeeping. */
function frame(type: 'message' | 'own_message', m: FeedMessage, senderId: string) {
  const base = { type, id: m.id, seq: m.seq, content: m.content, sender_id: senderId, sent_at: m.sent_at };
  return type === 'own_message' ? { ...base, client_id: m.client_id } : base;
}
