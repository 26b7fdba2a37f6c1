import type pg from 'pg';
import { describeTransient, isTransientDatabaseError } from '../db/transient.js';
import { log } from '../log.js';
import { sendBatchSeconds, sendBatchSize, sendResults } from '../metrics.js';

/** One thing a room socket asked the database to do. */
export type SendEvent =
  | { kind: 'message'; room: string; user: string; origin: string; content: string; client_id?: string }
  | { kind: 'typing'; room: string; user: string }
  | { kind: 'read'; room: string; user: string; message_id: string };

export type SendResult =
  | { ok: true; id?: string; seq?: number; sent_at?: string; client_id?: string | null; moved?: boolean }
  | { ok: false; code: string; busy?: boolean };

/** What a frame gets when its lane's queue is full: nothing was stored, the same client_id may retry. */
export const BUSY: SendResult = { ok: false, code: 'unavailable', busy: true };

interface Pending {
  event: SendEvent;
  resolve: (result: SendResult) => void;
}

/**
 * The batched send path (docs/architecture.md: a notifying commit is the scarce resource). Events from every
 * socket of the process queue here and are flushed together in api.post_events calls: one
 * transaction, one commit per batch.
 *
 * Rooms are spread over `lanes` by their id; each lane flushes one batch at a time, so a room's
 * events (and so a socket's, which belongs to one room) are committed in the order they came,
 * while two lanes keep two database backends busy. maxBatch = 1 is the naive
 * one-transaction-per-message design the benchmark compares against.
 *
 * Each lane holds at most `queueMax` events waiting for its next flush. Past its capacity the
 * server sheds load instead of queueing it: an event beyond that is answered at once with BUSY, so
 * what is accepted is committed within a bounded delay (about queueMax ÷ the lane's commit rate).
 */
export class SendBatcher {
  private readonly lanes: BatchLane[];

  constructor(db: pg.Pool, maxBatch: number, tickMs: number, lanes: number, queueMax: number) {
    this.lanes = Array.from({ length: lanes }, () => new BatchLane(db, maxBatch, tickMs, queueMax));
  }

  submit(event: SendEvent): Promise<SendResult> {
    return this.lanes[Number.parseInt(event.room.slice(-8), 16) % this.lanes.length]!.submit(event);
  }

  /** Resolves once everything submitted so far has been flushed (used at shutdown). */
  async drain(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.drain()));
  }

  /**
   * Resolves once the batches being committed right now have answered their senders. A message
   * visible in the table is either answered already or in one of those batches (each lane runs
   * one at a time), so after this every local sender of it has had its ack.
   */
  async settled(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.running()));
  }
}

/**
 * One lane: events flush when `maxBatch` are waiting or `tickMs` after the first one. One flush
 * runs at a time: while it commits the next batch fills, so batches grow with load.
 */
class BatchLane {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: pg.Pool,
    private readonly maxBatch: number,
    private readonly tickMs: number,
    private readonly queueMax: number,
  ) {}

  submit(event: SendEvent): Promise<SendResult> {
    if (this.queue.length >= this.queueMax) return Promise.resolve(BUSY);
    return new Promise((resolve) => {
      this.queue.push({ event, resolve });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has been flushed (used at shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) this.startFlush();
      await this.flushing;
    }
  }

  /** The flush running now, if any (it never rejects: failures become results). */
  running(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.flushing) return; // the running flush starts the next one when it ends
    if (this.queue.length >= this.maxBatch) {
      this.startFlush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.startFlush(), this.tickMs);
    }
  }

  private startFlush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatch);
    this.flushing = this.flush(batch).finally(() => {
      this.flushing = undefined;
      // what queued up meanwhile has waited long enough: flush it right away
      if (this.queue.length > 0) this.startFlush();
    });
  }

  private async flush(batch: Pending[]): Promise<void> {
    for (const [pending, result] of await this.post(batch)) {
      sendResults.inc({ kind: pending.event.kind, result: result.ok ? 'ok' : result.code });
      pending.resolve(result);
    }
  }

  /**
   * One api.post_events call. If the database refuses the batch as a whole for its data (input
   * the gateway should have caught), the batch is split in halves and retried, so only the event
   * at fault fails; if the database is unreachable, every sender is told and may retry with its
   * client_id (nothing of the batch was committed).
   */
  private async post(batch: Pending[]): Promise<Array<[Pending, SendResult]>> {
    const events = batch.map(({ event }, i) => ({ i, ...event }));
    sendBatchSize.observe(batch.length);
    const commit = sendBatchSeconds.startTimer();
    try {
      const { rows } = await this.db.query<{ results: Array<SendResult & { i: number }> }>('select api.post_events($1) as results', [
        JSON.stringify(events),
      ]);
      commit();
      const byIndex = new Map(rows[0]!.results.map((r) => [r.i, r]));
      return batch.map((pending, i) => [pending, byIndex.get(i) ?? { ok: false, code: 'internal' }]);
    } catch (error) {
      const dataError = /^2[23]/.test((error as { code?: string }).code ?? '');
      if (dataError && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        return [...(await this.post(batch.slice(0, half))), ...(await this.post(batch.slice(half)))];
      }
      // the database restarting: each sender gets `unavailable` and retries with its client_id
      if (isTransientDatabaseError(error)) log.warn(`send batch of ${batch.length} not stored: ${describeTransient(error)}`);
      else log.error(`send batch of ${batch.length} failed`, error);
      const code = dataError ? 'invalid_frame' : 'unavailable';
      return batch.map((pending) => [pending, { ok: false, code }]);
    }
  }
}
