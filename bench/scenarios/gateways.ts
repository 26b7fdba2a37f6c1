/**
 * Several gateway processes on one PostgreSQL: 2 and 4 servers (quick mode: 2) on their own ports, the two members
 * of every room on different gateways, so every message crosses processes (the sender's gateway
 * commits it, the partner's gateway gets it through LISTEN). The offered load is stepped up to
 * saturation as in the messages scenario; the report compares with its one-gateway figures.
 */
import type { Ctx, Room } from '../lib/context.js';
import { messages, type MessagesResult } from './messages.js';

export async function gateways(ctx: Ctx, rooms: Room[], levels: number[]): Promise<{ variants: MessagesResult[] }> {
  const variants: MessagesResult[] = [];
  for (const n of ctx.cfg.gatewayCounts) {
    await ctx.startGateways(n);
    ctx.log(`scenario: messages over ${n} gateways (SEND_BATCH_MAX=${ctx.cfg.batchMax}, members of a room on different gateways)`);
    variants.push(
      await messages(
        ctx,
        { label: `${n} gateways`, send_function: 'current', send_lanes: 2, send_queue_max: 2048, gateways: n },
        rooms,
        levels,
      ),
    );
  }
  return { variants };
}

export type GatewaysResult = Awaited<ReturnType<typeof gateways>>;
