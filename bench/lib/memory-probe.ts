/**
 * Loaded into the server process by the soak scenario (`node --expose-gc --import=…`), never by
 * the server itself: every BENCH_PROBE_MS it runs a full garbage collection, so the heap figure
 * is what is still reachable rather than where the collector happens to be, and appends
 * process.memoryUsage() as one JSON line to BENCH_PROBE_FILE.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_PROBE_FILE;
const everyMs = Number(process.env.BENCH_PROBE_MS ?? 5000);
if (file) {
  const gc = (globalThis as { gc?: () => void }).gc;
  setInterval(() => {
    gc?.();
    const m = process.memoryUsage();
    appendFileSync(
      file,
      JSON.stringify({
        t: Date.now(),
        rss: m.rss,
        heap_used: m.heapUsed,
        heap_total: m.heapTotal,
        external: m.external,
        array_buffers: m.arrayBuffers,
        gc: gc !== undefined,
      }) + '\n',
    );
  }, everyMs).unref();
}
