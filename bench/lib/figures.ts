/**
 * The comparison figures derived from bench/results/*.json (capacities, ratios, the overload step),
 * computed in one place so the target table and the generated analysis quote the same numbers.
 */
import type { AuthResult } from '../scenarios/auth.js';
import type { CeilingResult } from '../scenarios/ceiling.js';
import type { ConnectionsResult } from '../scenarios/connections.js';
import type { GatewaysResult } from '../scenarios/gateways.js';
import type { MatchingResult } from '../scenarios/matching.js';
import type { LevelRecord, MessagesResult } from '../scenarios/messages.js';
import type { NaiveResult } from '../scenarios/naive.js';
import type { SendPathCase, SendPathResult } from '../scenarios/sendpath.js';
import type { SoakResult } from '../scenarios/soak.js';
import { readResult } from './results.js';

/** What a message scenario delivered at its best step: the median of its runs, and their spread. */
export interface Capacity {
  label: string;
  delivered: number;
  min: number;
  max: number;
  runs: number;
  offered: number;
  /** the step it was measured at */
  level: LevelRecord;
  result: MessagesResult;
}

export function capacity(r: MessagesResult | undefined): Capacity | undefined {
  if (!r?.levels?.length) return undefined;
  const level = r.levels.reduce((a, b) => (b.delivered_per_s > a.delivered_per_s ? b : a));
  return {
    label: r.label ?? 'batched',
    delivered: level.delivered_per_s,
    min: level.delivered_min_per_s ?? level.delivered_per_s,
    max: level.delivered_max_per_s ?? level.delivered_per_s,
    runs: level.runs,
    offered: level.offered,
    level,
    result: r,
  };
}

export function levelAt(r: MessagesResult | undefined, offered: number): LevelRecord | undefined {
  return r?.levels.find((l) => l.offered === offered);
}

/** The fastest case of one send function among some client counts. */
function fastest(cases: SendPathCase[], fn: SendPathCase['function'], clients?: number): SendPathCase | undefined {
  return cases
    .filter((c) => c.function === fn && (clients === undefined || c.clients === clients))
    .reduce<SendPathCase | undefined>((a, b) => (!a || b.msgs_per_s > a.msgs_per_s ? b : a), undefined);
}

export function figures(dir: string) {
  const get = <T>(s: Parameters<typeof readResult>[1]) => readResult<T>(dir, s)?.result;
  const messages = get<MessagesResult>('messages');
  const v1 = get<MessagesResult>('messages_v1');
  // results written before the naive scenario had variants are not comparable: left out
  const naiveRuns = get<NaiveResult>('naive')?.variants ?? [];
  const gatewayRuns = get<GatewaysResult>('gateways')?.variants ?? [];
  const sp = get<SendPathResult>('sendpath');
  // likewise the send-path cases of results written before it measured several functions
  const spCases = sp?.cases?.filter((c) => c.function) ?? [];

  const batched = capacity(messages);
  const measured = (c: Capacity | undefined): c is Capacity => !!c;
  const naive = naiveRuns
    .filter((r) => r.send_function === 'naive')
    .map(capacity)
    .filter(measured);
  const bestNaive = naive.reduce<Capacity | undefined>((a, b) => (!a || b.delivered > a.delivered ? b : a), undefined);
  const narrow = capacity(naiveRuns.find((r) => r.send_function === 'current'));
  const ratio = (a: Capacity | undefined, b: Capacity | undefined) => (a && b ? a.delivered / b.delivered : undefined);

  const spCurrent = fastest(spCases, 'current', 1);
  const spBestNaive = fastest(spCases, 'naive');
  const spAt = (fn: SendPathCase['function'], batch: number, clients: number) =>
    spCases.find((c) => c.function === fn && c.batch === batch && c.clients === clients);

  return {
    /** the issue's ratio: current at batch 256 from one client ÷ the best naive */
    spCurrent256: spAt('current', 256, 1),
    messages,
    v1,
    batched,
    batchedV1: capacity(v1),
    naive,
    bestNaive,
    narrow,
    gateways: gatewayRuns.map(capacity).filter(measured),
    batchedOverNaive: ratio(batched, bestNaive),
    batchedOverNarrow: ratio(batched, narrow),
    currentOverV1: ratio(batched, capacity(v1)),
    /** every scenario's overload step, with the capacity it is compared with */
    overloads: [messages, v1, ...naiveRuns, ...gatewayRuns].flatMap((r) => {
      const c = capacity(r);
      return c && r?.overload ? [{ label: r.label, capacity: c, step: r.overload }] : [];
    }),
    sendpath: sp,
    spCases,
    spCurrent,
    spV1: spCurrent && spAt('v1', spCurrent.batch, 1),
    spBestNaive,
    spAt,
    ceiling: get<CeilingResult>('ceiling'),
    connections: get<ConnectionsResult>('connections'),
    matching: get<MatchingResult>('matching'),
    auth: get<AuthResult>('auth'),
    soak: get<SoakResult>('soak'),
  };
}

export type Figures = ReturnType<typeof figures>;
