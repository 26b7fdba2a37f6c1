import pg from 'pg';
import type { ChatClient } from './chat-client.js';

/** A scenario's figures: what the lead's note reports and what the assertions check. */
export interface Figures {
  acked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  ownEchoes: number;
  unacked: number;
  conflictingAcks: number;
  /** Seqs of a room a member never learned of (1..last_seq minus frames and acks). */
  gaps: number;
  /** Rows stored, and rows too many or missing against the client_ids sent. */
  storedRows: number;
  storedWrong: number;
  surprises: unknown[];
}

export interface Pair {
  roomId: string;
  a: ChatClient;
  b: ChatClient;
}

/** Counts every promise of the contract over the clients' records and the stored rows. */
export async function collectFigures(databaseUrl: string, pairs: Pair[]): Promise<Figures> {
  const figures: Figures = {
    acked: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    ownEchoes: 0,
    unacked: 0,
    conflictingAcks: 0,
    gaps: 0,
    storedRows: 0,
    storedWrong: 0,
    surprises: [],
  };
  const owner = new pg.Client({ connectionString: databaseUrl });
  await owner.connect();
  try {
    for (const { roomId, a, b } of pairs) {
      const { rows } = await owner.query<{ client_id: string | null; copies: number }>(
        'select client_id, count(*)::int as copies from app.messages where room_id = $1 group by client_id',
        [roomId],
      );
      const {
        rows: [room],
      } = await owner.query<{ last_seq: string }>('select last_seq from app.rooms where id = $1', [roomId]);
      const lastSeq = Number(room!.last_seq);
      const stored = new Map(rows.map((r) => [r.client_id, r.copies]));
      const sentIds = [...a.sent.keys(), ...b.sent.keys()];
      figures.storedRows += rows.reduce((sum, r) => sum + r.copies, 0);
      // one row per client_id sent, none without one, none that nobody sent
      figures.storedWrong +=
        sentIds.filter((id) => stored.get(id) !== 1).length +
        rows.filter((r) => r.client_id === null || (!a.sent.has(r.client_id) && !b.sent.has(r.client_id))).length;

      for (const [sender, partner] of [
        [a, b],
        [b, a],
      ] as const) {
        for (const { ack } of sender.sent.values()) {
          if (!ack) continue;
          figures.acked++;
          if (partner.received.has(ack.id)) figures.delivered++;
          else figures.lost++;
        }
        figures.duplicated += sender.duplicates;
        figures.reordered += sender.reorders;
        figures.ownEchoes += sender.ownEchoes;
        figures.unacked += sender.unacked.size;
        figures.conflictingAcks += sender.conflictingAcks;
        figures.surprises.push(...sender.surprises);
        for (let seq = 1; seq <= lastSeq; seq++) if (!sender.seen.has(seq)) figures.gaps++;
      }
    }
  } finally {
    await owner.end();
  }
  return figures;
}

export function summary(name: string, f: Figures): string {
  return (
    `fault scenario "${name}": acked ${f.acked}, delivered ${f.delivered}, lost ${f.lost}, duplicated ${f.duplicated}` +
    ` (own_message to origin ${f.ownEchoes}, unacked ${f.unacked}, reordered ${f.reordered}, seq gaps ${f.gaps},` +
    ` stored rows ${f.storedRows}, wrong ${f.storedWrong})`
  );
}
