/** Results files (bench/results/<scenario>.json): which scenarios exist, writing and reading them. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SCENARIOS = [
  'ceiling',
  'auth',
  'sendpath',
  'messages',
  'messages_v1',
  'naive',
  'gateways',
  'connections',
  'matching',
  'soak',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** What a run without --only measures: the soak takes 10 minutes (quick: 1) and runs only when named. */
export const DEFAULT_SCENARIOS: Scenario[] = SCENARIOS.filter((s) => s !== 'soak');

export interface Envelope<T> {
  scenario: Scenario;
  mode: 'quick' | 'full';
  date: string;
  /** when the run that wrote this file started: files of one run share it */
  run_started?: string;
  command: string;
  machine: Record<string, unknown>;
  config: Record<string, unknown>;
  result: T;
}

export function writeResult<T>(dir: string, env: Envelope<T>): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${env.scenario}.json`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(env, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

export function readResult<T>(dir: string, s: Scenario): Envelope<T> | undefined {
  const f = path.join(dir, `${s}.json`);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Envelope<T>;
  } catch {
    return undefined;
  }
}
