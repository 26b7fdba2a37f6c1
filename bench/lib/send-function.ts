/**
 * Which send function `api.post_events` is during a scenario. The baselines of bench/baselines/
 * (v1: the function as it was at 049c1cc; naive: one message per call) live in schemas of their
 * own in the bench's database. Swapping renames the real function aside and moves the variant
 * into schema api under its name, so the server calls it unchanged, without a wrapper's cost;
 * restoring moves both back. The server re-creates functions at start-up only when db/functions
 * changed, so a restarted server keeps the variant: the bench restores it itself (finally, Ctrl-C,
 * and at the start of every run, should one have died with a variant in place: on Ctrl-C the
 * database may be stopping already).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Ctx } from './context.js';

export type SendFunction = 'current' | 'v1' | 'naive';

/** The schema each baseline's post_events(jsonb) lives in when it is not swapped in. */
const HOME: Record<Exclude<SendFunction, 'current'>, string> = { v1: 'bench_v1', naive: 'bench_naive' };
/** The real api.post_events while a variant stands in for it. */
const SAVED = 'post_events_bench_saved';

export async function ownerClient(ctx: Ctx): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: ctx.pgPort, user: 'postgres', password: 'postgres', database: 'chat' });
  await c.connect();
  return c;
}

/**
 * (Re)installs both baselines (the server must have migrated the database first, and the real
 * api.post_events be in place: see restoreSendFunction).
 */
export async function installBaselines(ctx: Ctx): Promise<void> {
  const c = await ownerClient(ctx);
  try {
    for (const file of ['post_events_v1.sql', 'post_message_naive.sql'])
      await c.query(readFileSync(path.join(ctx.root, 'bench', 'baselines', file), 'utf8'));
  } finally {
    await c.end();
  }
}

/** Makes `variant` the api.post_events the server calls ('current' restores the real one). */
export async function useSendFunction(ctx: Ctx, variant: SendFunction): Promise<void> {
  await restoreSendFunction(ctx);
  if (variant === 'current') return;
  const c = await ownerClient(ctx);
  try {
    await c.query('begin');
    await c.query(`alter function api.post_events(jsonb) rename to ${SAVED}`);
    await c.query(`alter function ${HOME[variant]}.post_events(jsonb) set schema api`);
    await c.query('commit');
  } catch (e) {
    await c.query('rollback');
    throw e;
  } finally {
    await c.end();
  }
}

/** Puts the real api.post_events back, if a variant stands in for it; a no-op otherwise. */
export async function restoreSendFunction(ctx: Ctx): Promise<void> {
  const c = await ownerClient(ctx);
  try {
    const saved = await c.query(`select to_regprocedure('api.${SAVED}(jsonb)') is not null as swapped`);
    if (!saved.rows[0].swapped) return;
    // the variant in api is the one whose home schema has no post_events of its own now
    const home = await c.query<{ nspname: string }>(
      `select s.nspname from unnest($1::text[]) s(nspname) where to_regprocedure(s.nspname || '.post_events(jsonb)') is null`,
      [Object.values(HOME)],
    );
    await c.query('begin');
    await c.query(`alter function api.post_events(jsonb) set schema ${home.rows[0]!.nspname}`);
    await c.query(`alter function api.${SAVED}(jsonb) rename to post_events`);
    await c.query('commit');
    ctx.log('  restored the real api.post_events');
  } catch (e) {
    await c.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    await c.end();
  }
}

/** Runs `fn` with `variant` as api.post_events, and restores the real one however `fn` ends. */
export async function withSendFunction<T>(ctx: Ctx, variant: SendFunction, fn: () => Promise<T>): Promise<T> {
  await useSendFunction(ctx, variant);
  try {
    return await fn();
  } finally {
    await restoreSendFunction(ctx);
  }
}

/**
 * Empties the messages table (rooms and their counters stay), so that every measured send function
 * and configuration starts from the same table: a table that grew by the earlier steps' millions of
 * rows makes each insert dearer (measured: PostgreSQL CPU per message rose by half over three
 * overload runs), which would favour whichever ran first.
 */
export async function forgetMessages(ctx: Ctx): Promise<void> {
  const c = await ownerClient(ctx);
  try {
    await c.query('truncate app.messages, app.reactions');
    await c.query('vacuum analyze app.rooms');
  } finally {
    await c.end();
  }
}
