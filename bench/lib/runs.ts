import type { Ctx } from './context.js';

/**
 * The runs of one measurement. A run during which other processes used more than `maxOtherPct`
 * of a core is set aside and repeated (at most `retries` times per measurement); what must be
 * zero (lost, failed, …) is still counted over every run, set aside or not.
 */
export class Runs<T> {
  readonly kept: T[] = [];
  readonly disturbed: T[] = [];

  constructor(private readonly ctx: Ctx) {}

  /** True while more runs are wanted. */
  get wanted(): boolean {
    return this.kept.length < this.ctx.cfg.runs;
  }

  /** Keeps a finished run; false when it was disturbed and is to be repeated. */
  keep(run: T, otherPct: number): boolean {
    if (otherPct > this.ctx.cfg.maxOtherPct && this.disturbed.length < this.ctx.cfg.retries) {
      this.ctx.log(`  disturbed: other processes used ${otherPct}% of a core; repeating the run`);
      this.disturbed.push(run);
      return false;
    }
    this.kept.push(run);
    return true;
  }

  get all(): T[] {
    return [...this.kept, ...this.disturbed];
  }
}
