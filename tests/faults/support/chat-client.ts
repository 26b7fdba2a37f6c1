import WebSocket from 'ws';
import type { Gateway, Member } from './cluster.js';

type Frame = Record<string, any>;

/** Error codes after which a careful client sends the same client_id again. */
const RETRYABLE = new Set(['unavailable', 'rate_limited', 'internal']);

/** One socket's life: where it resumed, and which seqs its feed gave it. */
interface Connection {
  afterSeq: number;
  lastSeq: number;
  delivered: Set<number>;
}

/**
 * A room member as a careful client behaves: every message has a client_id; a send not acked is
 * sent again (same client_id) on the next socket, or after a retryable error; a lost socket is
 * replaced at once (on the first gateway of its list that runs) and resumes with after_seq = the
 * last seq up to which it has seen everything. It records what the verdict needs.
 */
export class ChatClient {
  /** Every client_id sent: the connections it went out on, and its ack. */
  readonly sent = new Map<string, { connections: Set<number>; ack?: { id: string; seq: number } }>();
  readonly unacked = new Set<string>();
  /** Ids of the partner's messages this client was given (message frames). */
  readonly received = new Set<string>();
  /** Every seq this client knows of: its feed's frames and its acks. */
  readonly seen = new Set<number>();
  /** A seq given again without being asked for (not below the resume point, twice on one socket). */
  duplicates = 0;
  /** A seq given after a higher one on the same socket. */
  reorders = 0;
  /** own_message frames for a client_id that only this very socket ever sent: the contract's "never". */
  ownEchoes = 0;
  /** Acks for one client_id naming two different messages. */
  conflictingAcks = 0;
  /** Anything unexpected: refusals that are not retryable, room_closed, unknown frames. */
  readonly surprises: Frame[] = [];
  readonly connections: Connection[] = [];
  /** When each ack and each partner message arrived (for the lag figures). */
  readonly ackTimes: number[] = [];
  readonly receiveTimes: number[] = [];

  private ws: WebSocket | undefined;
  private connection = -1;
  private contiguous = 0;
  private counter = 0;
  private sender: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly name: string,
    readonly member: Member,
    readonly roomId: string,
    /** In order of preference: a client whose gateway died moves to the next running one. */
    private readonly gateways: Gateway[],
  ) {}

  get acked(): number {
    return this.sent.size - this.unacked.size;
  }

  /** Opens the first socket (resolves once it is open). */
  async connect(): Promise<void> {
    await this.reconnect();
  }

  startSending(everyMs: number): void {
    this.sender = setInterval(() => {
      const clientId = `${this.name}-${++this.counter}`;
      this.sent.set(clientId, { connections: new Set() });
      this.unacked.add(clientId);
      this.transmit(clientId);
    }, everyMs);
  }

  stopSending(): void {
    clearInterval(this.sender);
  }

  /** The connection dies under the client (a network cut): it reconnects and resumes. */
  drop(): void {
    this.ws?.terminate();
  }

  close(): void {
    this.closed = true;
    this.stopSending();
    for (const timer of this.timers) clearTimeout(timer);
    this.ws?.terminate();
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private async reconnect(): Promise<void> {
    while (!this.closed) {
      const gateway = this.gateways.find((g) => g.running);
      if (gateway) {
        try {
          await this.open(gateway);
          return;
        } catch {
          // refused (gateway starting, database down): try again shortly
        }
      }
      await new Promise((resolve) => this.later(100 + Math.random() * 100, () => resolve(undefined)));
    }
  }

  private open(gateway: Gateway): Promise<void> {
    const afterSeq = this.contiguous;
    const url = `${gateway.wsUrl}/ws/${this.roomId}?token=${encodeURIComponent(this.member.token)}&after_seq=${afterSeq}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      let index = -1;
      ws.once('open', () => {
        index = this.connections.push({ afterSeq, lastSeq: afterSeq, delivered: new Set() }) - 1;
        this.connection = index;
        this.ws = ws;
        resolve();
        for (const clientId of this.unacked) this.transmit(clientId); // the retry: same client_id
      });
      ws.on('message', (data) => this.onFrame(index, JSON.parse(data.toString())));
      ws.on('error', (error) => {
        if (index < 0) reject(error);
      });
      ws.on('close', () => {
        if (index < 0) return reject(new Error('closed before open'));
        if (this.ws !== ws) return;
        this.ws = undefined;
        if (!this.closed) void this.reconnect();
      });
    });
  }

  private transmit(clientId: string): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.unacked.has(clientId)) return; // sent on the next socket
    this.sent.get(clientId)!.connections.add(this.connection);
    ws.send(JSON.stringify({ type: 'message', content: `message ${clientId}`, client_id: clientId }));
  }

  private see(seq: number): void {
    this.seen.add(seq);
    while (this.seen.has(this.contiguous + 1)) this.contiguous++;
  }

  private onFrame(index: number, frame: Frame): void {
    switch (frame.type) {
      case 'message_ack': {
        const record = this.sent.get(frame.client_id);
        if (!record) return void this.surprises.push(frame);
        if (record.ack && record.ack.id !== frame.id) this.conflictingAcks++;
        if (!record.ack) this.ackTimes.push(Date.now());
        record.ack ??= { id: frame.id, seq: frame.seq };
        this.unacked.delete(frame.client_id);
        this.see(frame.seq);
        return;
      }
      case 'message':
      case 'own_message': {
        const connection = this.connections[index]!;
        if (frame.seq <= connection.afterSeq || connection.delivered.has(frame.seq)) this.duplicates++;
        else if (frame.seq < connection.lastSeq) this.reorders++;
        connection.delivered.add(frame.seq);
        connection.lastSeq = Math.max(connection.lastSeq, frame.seq);
        this.see(frame.seq);
        if (frame.type === 'message') {
          this.received.add(frame.id);
          this.receiveTimes.push(Date.now());
        } else {
          const sentOn = this.sent.get(frame.client_id)?.connections;
          if (sentOn?.size === 1 && sentOn.has(index)) this.ownEchoes++;
        }
        return;
      }
      case 'error':
        if (RETRYABLE.has(frame.code) && this.unacked.has(frame.client_id)) {
          this.later(100 + Math.random() * 100, () => this.transmit(frame.client_id));
        } else {
          this.surprises.push(frame);
        }
        return;
      default:
        this.surprises.push(frame);
    }
  }
}
