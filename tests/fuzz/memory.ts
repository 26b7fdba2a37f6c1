import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// a full collection before each reading, so the figures compare live memory, not garbage
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface MemoryReading {
  heapMiB: number;
  rssMiB: number;
}

export function readMemory(): MemoryReading {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapMiB: heapUsed / 2 ** 20, rssMiB: rss / 2 ** 20 };
}

export const describeGrowth = (before: MemoryReading, after: MemoryReading) =>
  `heap ${before.heapMiB.toFixed(1)} → ${after.heapMiB.toFixed(1)} MiB, rss ${before.rssMiB.toFixed(1)} → ${after.rssMiB.toFixed(1)} MiB`;
