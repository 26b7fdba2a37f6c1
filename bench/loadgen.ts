/**
 * Load-generator process, forked by bench/run.ts (never imported). It speaks to the server only
 * through its public HTTP and WebSocket API on 127.0.0.1, and to the runner through IPC
 * (see lib/protocol.ts). Both members of a room always live in the same process, so send →
 * delivery latency is measured on one clock.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import type {
  Command,
  EventsResult,
  HttpReq,
  HttpRes,
  HttpResult,
  LoadResult,
  OpenResult,
  Reply,
  SocketSpec,
  StatusResult,
} from './lib/protocol.js';

let httpBase = '';
let wsBase = '';
let workerId = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });

const epoch = () => performance.timeOrigin + performance.now();
const now = () => performance.now();

// ---------------------------------------------------------------------------------------------
// HTTP

function request(r: HttpReq, keepBody: boolean): Promise<HttpRes> {
  const url = new URL(r.path, httpBase);
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  const headers: Record<string, string> = {};
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (r.token) headers.authorization = `Bearer ${r.token}`;
  const t0 = now();
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: url.port, path: url.pathname + url.search, method: r.method, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = now() - t0;
          let body: unknown;
          if (keepBody || (res.statusCode ?? 0) >= 400) {
            const s = Buffer.concat(chunks).toString();
            try {
              body = s ? JSON.parse(s) : undefined;
            } catch {
              body = s;
            }
          }
          resolve({ status: res.statusCode ?? 0, ms, body });
        });
        res.on('error', (e) => resolve({ status: 0, ms: now() - t0, error: String(e) }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, ms: now() - t0, error: String(e) }));
    if (payload) req.write(payload);
    req.end();
  });
}

async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(runners);
  return out;
}

async function waitUntil(epochMs?: number): Promise<void> {
  if (!epochMs) return;
  const d = epochMs - epoch();
  if (d > 0) await new Promise((r) => setTimeout(r, d));
}

async function cmdHttp(c: Extract<Command, { cmd: 'http' }>): Promise<HttpResult> {
  await waitUntil(c.startAt);
  const t0 = epoch();
  const results = await pool(c.reqs, c.concurrency, (r) => request(r, c.keepBodies ?? true));
  return { t0, t1: epoch(), results };
}

// ---------------------------------------------------------------------------------------------
// WebSockets

interface Sock {
  ws: WebSocket;
  spec: SocketSpec;
  open: boolean;
  matched: string[];
}

const sockets: Sock[] = [];
/** room index → member → room sockets */
const roomSocks = new Map<number, [Sock[], Sock[]]>();
const closes: Record<string, number> = {};
const frames: Record<string, number> = {};

function bump(o: Record<string, number>, k: string, by = 1) {
  o[k] = (o[k] ?? 0) + by;
}

function openOne(spec: SocketSpec): Promise<{ ok: boolean; ms: number; why?: string }> {
  const path = spec.kind === 'room' ? `/ws/${spec.roomId}` : '/ws/notifications';
  const url = `${spec.wsBase ?? wsBase}${path}?token=${encodeURIComponent(spec.token)}`;
  const t0 = now();
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30000 });
    const s: Sock = { ws, spec, open: false, matched: [] };
    let settled = false;
    const done = (ok: boolean, why?: string) => {
      if (settled) return;
      settled = true;
      resolve({ ok, ms: now() - t0, why });
    };
    ws.on('open', () => {
      s.open = true;
      sockets.push(s);
      if (spec.kind === 'room') {
        let r = roomSocks.get(spec.room);
        if (!r) {
          r = [[], []];
          roomSocks.set(spec.room, r);
        }
        r[spec.member].push(s);
      }
      done(true);
    });
    ws.on('unexpected-response', (_req, res) => {
      done(false, `http_${res.statusCode}`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (e) => done(false, (e as NodeJS.ErrnoException).code ?? e.message.slice(0, 60)));
    ws.on('close', (code) => {
      if (s.open) {
        s.open = false;
        bump(closes, String(code));
        if (step) bump(step.closes, String(code));
      }
      done(false, `close_${code}`);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return bump(frames, 'binary');
      onFrame(s, data.toString());
    });
  });
}

async function cmdOpen(c: Extract<Command, { cmd: 'open' }>): Promise<OpenResult> {
  await waitUntil(c.startAt);
  const t0 = epoch();
  const failures: Record<string, number> = {};
  const lat = new Float32Array(c.specs.length);
  let opened = 0;
  let failed = 0;
  await pool(c.specs, c.concurrency, async (spec, i) => {
    const r = await openOne(spec);
    lat[i] = r.ms;
    if (r.ok) opened++;
    else {
      failed++;
      bump(failures, r.why ?? 'unknown');
    }
  });
  return { t0, t1: epoch(), opened, failed, failures, latencies: lat };
}

async function cmdClose(): Promise<{ closed: number }> {
  const all = sockets.splice(0);
  roomSocks.clear();
  let closed = 0;
  await pool(
    all,
    1000,
    (s) =>
      new Promise<void>((resolve) => {
        if (s.ws.readyState === WebSocket.CLOSED) return resolve();
        const t = setTimeout(() => {
          s.ws.terminate();
          resolve();
        }, 5000);
        s.ws.once('close', () => {
          clearTimeout(t);
          closed++;
          resolve();
        });
        s.open = false; // a close we asked for is not counted as a server close
        s.ws.close(1000);
      }),
  );
  return { closed };
}

function cmdStatus(): StatusResult {
  let room = 0;
  let notif = 0;
  for (const s of sockets) {
    if (!s.open) continue;
    if (s.spec.kind === 'room') room++;
    else notif++;
  }
  return { room_open: room, notif_open: notif, closes: { ...closes }, frames: { ...frames }, rss: process.memoryUsage().rss };
}

function cmdEvents(): EventsResult {
  const matched: EventsResult['matched'] = [];
  for (const s of sockets) if (s.spec.kind === 'notif') matched.push({ user: s.spec.user, rooms: s.matched.splice(0) });
  return { matched };
}

// ---------------------------------------------------------------------------------------------
// Message load

interface Sender {
  sock: Sock;
  room: number;
  member: 0 | 1;
}

class Step {
  tag: string;
  prefix: string;
  cap: number;
  n = 0;
  sendT: Float64Array;
  ackT: Float64Array;
  delT: Float64Array;
  delCount: Uint8Array;
  ackCount: Uint8Array;
  errored: Uint8Array;
  sender: Int32Array;
  ids: (string | undefined)[];
  lastDelivered: Int32Array;
  notif = new Map<string, number>();
  errors: Record<string, number> = {};
  closes: Record<string, number> = {};
  misrouted = 0;
  idMismatch = 0;
  reordered = 0;
  stale = 0;
  own = 0;
  dupAcks = 0;
  senders: Sender[];
  wStart = 0;
  wEnd = 0;

  constructor(tag: string, cap: number, senders: Sender[]) {
    this.tag = tag;
    this.prefix = `${tag}.`;
    this.cap = cap;
    this.senders = senders;
    this.sendT = new Float64Array(cap);
    this.ackT = new Float64Array(cap);
    this.delT = new Float64Array(cap);
    this.delCount = new Uint8Array(cap);
    this.ackCount = new Uint8Array(cap);
    this.errored = new Uint8Array(cap);
    this.sender = new Int32Array(cap);
    this.ids = new Array(cap);
    this.lastDelivered = new Int32Array(senders.length).fill(-1);
  }

  /** message number from a client_id / content, or -1 when it is not ours */
  num(s: unknown): number {
    if (typeof s !== 'string' || !s.startsWith(this.prefix)) return -1;
    const sp = s.indexOf(' ', this.prefix.length);
    const n = Number(sp < 0 ? s.slice(this.prefix.length) : s.slice(this.prefix.length, sp));
    return Number.isInteger(n) && n >= 0 && n < this.n ? n : -1;
  }
}

let step: Step | undefined;
/** how long before the end of a grace period that ran out an undelivered ack counts as in flight */
const IN_FLIGHT_MS = 1000;

function onFrame(s: Sock, text: string) {
  let m: any;
  try {
    m = JSON.parse(text);
  } catch {
    return bump(frames, 'not_json');
  }
  const type = typeof m?.type === 'string' ? m.type : 'untyped';
  bump(frames, `${s.spec.kind}:${type}`);
  if (s.spec.kind === 'notif') {
    if (type === 'matched') s.matched.push(m.room_id);
    else if (type === 'new_message' && step) step.notif.set(m.message_id, (step.notif.get(m.message_id) ?? 0) + 1);
    return;
  }
  const st = step;
  if (!st) return;
  const t = now();
  switch (type) {
    case 'message': {
      const n = st.num(m.content);
      if (n < 0) return void st.stale++;
      const c = st.delCount[n]!;
      st.delCount[n] = c < 255 ? c + 1 : c;
      if (c > 0) return;
      st.delT[n] = t;
      // the partner must get the very message the sender was acked for
      if (!st.ids[n]) st.ids[n] = m.id;
      else if (st.ids[n] !== m.id) st.idMismatch++;
      const si = st.sender[n]!;
      const snd = st.senders[si]!;
      if (snd.room !== s.spec.room || snd.member === s.spec.member) st.misrouted++;
      if (n < st.lastDelivered[si]!) st.reordered++;
      else st.lastDelivered[si] = n;
      return;
    }
    case 'message_ack': {
      const n = st.num(m.client_id);
      if (n < 0) return void st.stale++;
      if (st.ackCount[n]! > 0) {
        st.dupAcks++;
        return;
      }
      st.ackCount[n] = 1;
      st.ackT[n] = t;
      if (st.ids[n] && st.ids[n] !== m.id) st.idMismatch++;
      st.ids[n] = m.id;
      return;
    }
    case 'own_message':
      st.own++;
      return;
    case 'error': {
      const n = st.num(m.client_id);
      // the answer to an earlier run's message (its grace period ran out) is not this run's refusal
      if (n < 0 && m.client_id !== undefined) return void st.stale++;
      bump(st.errors, String(m.code));
      if (n >= 0) st.errored[n] = 1;
      return;
    }
    default:
      return;
  }
}

function filler(len: number): string {
  const base = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';
  let s = '';
  while (s.length < len) s += base;
  return s.slice(0, Math.max(0, len));
}

async function cmdLoad(c: Extract<Command, { cmd: 'load' }>): Promise<LoadResult> {
  const senders: Sender[] = [];
  // one sending socket per member: the first tab; partners receive on all their room sockets
  for (const [room, members] of roomSocks) {
    for (const member of [0, 1] as const) {
      const sock = members[member].find((x) => x.open);
      if (sock && members[member === 0 ? 1 : 0].some((x) => x.open)) senders.push({ sock, room, member });
    }
  }
  if (senders.length === 0) throw new Error('no open room socket pairs to send on');
  const total = c.warmupMs + c.durationMs;
  const cap = Math.ceil((c.rate * total) / 1000) + 16;
  const st = new Step(c.tag, cap, senders);
  const pad = filler(Math.max(0, c.msgBytes - (c.tag.length + 10)));
  const hasNotif = new Set<string>();
  for (const s of sockets) if (s.spec.kind === 'notif' && s.open) hasNotif.add(`${s.spec.room}:${s.spec.member}`);

  const h = monitorEventLoopDelay({ resolution: 5 });
  step = st;
  let rr = 0;
  let skipped = 0;
  let maxBuffered = 0;
  const start = now();
  st.wStart = start + c.warmupMs;
  st.wEnd = start + total;
  let deficit = 0;
  let windowSent0 = -1;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = now();
      const el = Math.min(t - start, total);
      if (windowSent0 < 0 && t >= st.wStart) {
        windowSent0 = st.n;
        h.enable();
      }
      const due = Math.min(cap, Math.floor((el * c.rate) / 1000));
      while (st.n < due) {
        let si = rr++ % senders.length;
        let tries = 0;
        while (!senders[si]!.sock.open && tries++ < senders.length) {
          skipped++;
          si = rr++ % senders.length;
        }
        const snd = senders[si]!;
        if (!snd.sock.open) break;
        const n = st.n++;
        const id = `${st.prefix}${n}`;
        st.sendT[n] = now();
        st.sender[n] = si;
        snd.sock.ws.send(`{"type":"message","content":${JSON.stringify(`${id} ${pad}`)},"client_id":"${id}"}`);
        const b = snd.sock.ws.bufferedAmount;
        if (b > maxBuffered) maxBuffered = b;
      }
      if (t - start >= total) {
        deficit = due - st.n;
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  h.disable();
  const sentEnd = st.n;

  // grace: wait for every ack/refusal, every delivery of an acked message and every notification
  const graceStart = now();
  const settled = () => {
    for (let n = 0; n < st.n; n++) {
      if (!st.ackCount[n] && !st.errored[n]) return false;
      if (st.ackCount[n] && !st.delCount[n]) return false;
    }
    if (hasNotif.size) {
      for (let n = 0; n < st.n; n++) {
        if (!st.delCount[n]) continue;
        const snd = st.senders[st.sender[n]!]!;
        if (!hasNotif.has(`${snd.room}:${snd.member === 0 ? 1 : 0}`)) continue;
        const id = st.ids[n];
        if (id && !st.notif.has(id)) return false;
      }
    }
    return true;
  };
  while (now() - graceStart < c.graceMs && !settled()) await new Promise((r) => setTimeout(r, 25));
  const drain = now() - graceStart;
  // a grace period that ran out (past saturation) cuts acks off mid-stream: one acked in its last
  // second may have its delivery on the way, so it is counted in flight rather than lost
  const inFlightAfter = settled() ? Infinity : now() - IN_FLIGHT_MS;
  step = undefined;

  // tally
  const r: LoadResult = {
    sent: sentEnd,
    sent_in_window: 0,
    acked: 0,
    errored: 0,
    errors: st.errors,
    delivered: 0,
    delivered_in_window: 0,
    dup_deliveries: 0,
    dup_acks: st.dupAcks,
    lost: 0,
    acked_in_flight: 0,
    unacked: 0,
    delivered_unacked: 0,
    id_mismatch: st.idMismatch,
    misrouted: st.misrouted,
    reordered: st.reordered,
    stale_frames: st.stale,
    own_messages: st.own,
    notif_expected: 0,
    notif_received: 0,
    notif_missing: 0,
    notif_dup: 0,
    window_ms: c.durationMs,
    drain_ms: Math.round(drain),
    pacing_deficit: deficit,
    loop_delay_p99_ms: Math.round(h.percentile(99) / 1e4) / 100,
    max_client_buffered: maxBuffered,
    skipped_closed: skipped,
    closes: st.closes,
    deliver_lat: new Float32Array(0),
    ack_lat: new Float32Array(0),
  };
  const dl: number[] = [];
  const al: number[] = [];
  const ourIds = new Set<string>();
  for (let n = 0; n < sentEnd; n++) {
    const inWin = st.sendT[n]! >= st.wStart && st.sendT[n]! < st.wEnd;
    if (inWin) r.sent_in_window++;
    const acked = st.ackCount[n]! > 0;
    const del = st.delCount[n]!;
    if (acked) r.acked++;
    else if (st.errored[n]) r.errored++;
    else r.unacked++;
    if (del) {
      r.delivered++;
      if (del > 1) r.dup_deliveries += del - 1;
      if (!acked) r.delivered_unacked++;
      if (st.delT[n]! >= st.wStart && st.delT[n]! < st.wEnd) r.delivered_in_window++;
      if (inWin) dl.push(st.delT[n]! - st.sendT[n]!);
      const snd = st.senders[st.sender[n]!]!;
      const id = st.ids[n];
      if (id && hasNotif.has(`${snd.room}:${snd.member === 0 ? 1 : 0}`)) {
        r.notif_expected++;
        ourIds.add(id);
        const k = st.notif.get(id) ?? 0;
        if (k === 0) r.notif_missing++;
        if (k > 1) r.notif_dup += k - 1;
      }
    } else if (acked && st.ackT[n]! >= inFlightAfter) r.acked_in_flight++;
    else if (acked) r.lost++;
    if (acked && inWin) al.push(st.ackT[n]! - st.sendT[n]!);
  }
  for (const [id, k] of st.notif) if (ourIds.has(id)) r.notif_received += k;
  r.deliver_lat = Float32Array.from(dl);
  r.ack_lat = Float32Array.from(al);
  return r;
}

// ---------------------------------------------------------------------------------------------
// IPC

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'init':
      httpBase = c.httpBase;
      wsBase = c.wsBase;
      workerId = c.worker;
      return { pid: process.pid, worker: workerId };
    case 'http':
      return cmdHttp(c);
    case 'open':
      return cmdOpen(c);
    case 'load':
      return cmdLoad(c);
    case 'events':
      return cmdEvents();
    case 'status':
      return cmdStatus();
    case 'close':
      return cmdClose();
    case 'exit':
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (msg: { id: number; c: Command }) => {
  handle(msg.c).then(
    (result) => process.send!({ id: msg.id, ok: true, result } satisfies Reply),
    (e: unknown) =>
      process.send!({ id: msg.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies Reply),
  );
});
process.on('disconnect', () => process.exit(0));
