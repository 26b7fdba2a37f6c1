/**
 * Token buckets per key, in memory: `rate` events per second with bursts of `rate`. Buckets
 * refill lazily and are forgotten once full again, so idle keys cost nothing. (Per process: a
 * user connected to two processes gets each process's budget; the database is not asked on the
 * hot path for this.)
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweeps = 0;

  constructor(private readonly rate: number) {}

  take(key: string, now = performance.now()): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.rate, at: now };
    bucket.tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    if (++this.sweeps % 10_000 === 0) this.sweep(now);
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return true;
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.rate >= this.rate) this.buckets.delete(key);
    }
  }
}
