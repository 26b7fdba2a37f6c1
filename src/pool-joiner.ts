import type pg from 'pg';
import { HttpError } from './http/errors.js';

/** The part of a new room the gateway itself needs (the route returns the whole room object). */
export interface MatchedRoom {
  id: string;
  expires_at: string;
}

export interface JoinResult {
  matched: boolean;
  room?: MatchedRoom;
}

interface PendingJoin {
  user: string;
  sameCountry: boolean;
  resolve: (result: JoinResult) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 64;
const TICK_MS = 2;

/**
 * Pool joins arriving together go to the database together: api.join_pool_batch runs them in
 * arrival order in one transaction. The pool's advisory locks are held until commit, so joins
 * are serialized anyway; batching pays one commit for many of them instead of one each.
 * One batch runs at a time; a join that fails (already waiting) rejects alone, with the error
 * api.join_pool would have raised.
 *
 * At most `queueMax` joins wait for the running batch: past that the database is not keeping up,
 * and a join is refused at once (503, Retry-After) rather than queued without end.
 */
export class PoolJoiner {
  private queue: PendingJoin[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly db: pg.Pool,
    private readonly roomTtlMs: number,
    private readonly queueMax: number,
  ) {}

  join(user: string, sameCountry: boolean): Promise<JoinResult> {
    if (this.queue.length >= this.queueMax) {
      return Promise.reject(
        new HttpError(503, 'too many pool joins at once, retry shortly', 'unavailable', undefined, { 'retry-after': '1' }),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ user, sameCountry, resolve, reject });
      if (this.running) return; // the running batch starts the next one
      if (this.queue.length >= MAX_BATCH) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), TICK_MS);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, MAX_BATCH);
    void this.run(batch).finally(() => {
      this.running = false;
      if (this.queue.length > 0) this.flush();
    });
  }

  private async run(batch: PendingJoin[]): Promise<void> {
    const joins = batch.map((j, i) => ({ i, user: j.user, same_country: j.sameCountry }));
    let results: Array<{ i: number; result?: JoinResult; error?: { sqlstate: string; message: string } }>;
    try {
      const { rows } = await this.db.query('select api.join_pool_batch($1, make_interval(secs => $2)) as results', [
        JSON.stringify(joins),
        this.roomTtlMs / 1000,
      ]);
      results = rows[0].results;
    } catch (error) {
      for (const join of batch) join.reject(error);
      return;
    }
    for (const { i, result, error } of results) {
      const join = batch[i]!;
      if (result) join.resolve(result);
      // shaped like a PostgreSQL error, so the one SQLSTATE map answers it
      else join.reject(Object.assign(new Error(error!.message), { code: error!.sqlstate }));
    }
  }
}
