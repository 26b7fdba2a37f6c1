/** Pair registered users into rooms through the real pool: A joins (202), B joins (201 room). */
import type { Ctx, Room } from '../lib/context.js';
import type { HttpReq } from '../lib/protocol.js';

export async function makeRooms(ctx: Ctx, userIdx: number[]): Promise<Room[]> {
  const t0 = performance.now();
  const reqs: HttpReq[] = userIdx.map((u) => ({ method: 'POST', path: '/pool/join', token: ctx.users[u]!.token, body: {} }));
  const res = await ctx.httpSequential(reqs);
  const bad = res.filter((r) => r.status !== 201 && r.status !== 202);
  if (bad.length) throw new Error(`pool/join failed: ${bad.length} × e.g. ${bad[0]!.status} ${JSON.stringify(bad[0]!.body)}`);
  // the authoritative membership: each user's own rooms
  const me = await ctx.http(
    userIdx.map((u) => ({ method: 'GET', path: '/rooms/me', token: ctx.users[u]!.token })),
    16,
  );
  const byRoom = new Map<string, number[]>();
  me.results.forEach((r, i) => {
    if (r.status !== 200 || !Array.isArray(r.body)) throw new Error(`GET /rooms/me: ${r.status} ${JSON.stringify(r.body)}`);
    for (const room of r.body as { id: string }[]) {
      const l = byRoom.get(room.id);
      if (l) l.push(userIdx[i]!);
      else byRoom.set(room.id, [userIdx[i]!]);
    }
  });
  const rooms: Room[] = [];
  for (const [id, members] of byRoom) {
    if (members.length !== 2) continue;
    rooms.push({ idx: ctx.rooms.length + rooms.length, id, members: [members[0]!, members[1]!] });
  }
  ctx.rooms.push(...rooms);
  ctx.log(`  ${rooms.length} rooms from ${userIdx.length} users in ${Math.round(performance.now() - t0)} ms`);
  return rooms;
}
