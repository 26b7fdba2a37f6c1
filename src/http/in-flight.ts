/**
 * Counts the requests being answered, so shutdown can wait for them before it ends the database
 * pool: a handler that queried a pool already ended would fail instead of answering.
 */
export class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Counts one request until the returned function is called (once is enough; more is harmless). */
  begin(): () => void {
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Counts `work` until it settles, and returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    return work.finally(this.begin());
  }

  /** Resolves once nothing counted is running. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
