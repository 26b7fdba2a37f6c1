/**
 * The naive baselines, end to end on the real server with SEND_BATCH_MAX=1 (one transaction and one
 * NOTIFY per message): the best one-commit-per-message design, the one-message send function
 * (bench/baselines/post_message_naive.sql) with 2, 8 and 32 commits in flight (SEND_LANES; quick: 32), and, for
 * continuity with earlier results, the old narrow baseline: 2 lanes through the batch-shaped
 * api.post_events. Same rooms and steps as the batched scenarios.
 */
import type { Ctx, Room } from '../lib/context.js';
import { withSendFunction } from '../lib/send-function.js';
import { messages, type MessagesResult, type MessagesSetup } from './messages.js';

/**
 * Frames one gateway holds waiting for a commit, over all its lanes: the server's default
 * (SEND_QUEUE_MAX=2048 per lane, 2 lanes). More lanes get smaller queues so that the wait of an
 * accepted frame past saturation stays as bounded as with 2 lanes.
 */
const QUEUED_FRAMES = 2 * 2048;

export async function naive(ctx: Ctx, rooms: Room[], levels: number[]): Promise<{ variants: MessagesResult[] }> {
  const variants: MessagesResult[] = [];
  for (const lanes of ctx.cfg.naiveLanes) {
    const setup: MessagesSetup = {
      label: `naive ${lanes} lanes`,
      send_function: 'naive',
      send_lanes: lanes,
      send_queue_max: Math.round(QUEUED_FRAMES / lanes),
      gateways: 1,
    };
    await ctx.startServer(1, { env: { SEND_LANES: String(lanes), SEND_QUEUE_MAX: String(Math.round(QUEUED_FRAMES / lanes)) } });
    ctx.log(`scenario: messages, ${setup.label} (SEND_BATCH_MAX=1, one-message send function)`);
    variants.push(await withSendFunction(ctx, 'naive', () => messages(ctx, setup, rooms, levels)));
  }
  await ctx.startServer(1, { env: { SEND_LANES: '2' } });
  ctx.log('scenario: messages, old narrow naive (SEND_BATCH_MAX=1, 2 lanes, batch-shaped api.post_events)');
  variants.push(
    await messages(
      ctx,
      { label: 'narrow naive', send_function: 'current', send_lanes: 2, send_queue_max: 2048, gateways: 1 },
      rooms,
      levels,
    ),
  );
  return { variants };
}

export type NaiveResult = Awaited<ReturnType<typeof naive>>;
