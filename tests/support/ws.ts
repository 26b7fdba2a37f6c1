import pg from 'pg';
import WebSocket from 'ws';
import { TestSocket, type Frame, type TestUser } from './client.js';
import { checkHandshakeRefusal } from './contract.js';

/**
 * Helpers of the WebSocket scenario tests (tests/ws/**): opening sockets that are all closed
 * again by `closeAllSockets()`, waiting for frames anywhere in a socket's history (TestSocket.next
 * moves a cursor past the frames it skips), raw handshakes, and SQL as the database owner.
 */

const opened = new Set<TestSocket>();

/** Client-side errors of each socket (a protocol error closes a socket with 1006). */
const errors = new WeakMap<TestSocket, Error[]>();

function track(socket: TestSocket): TestSocket {
  opened.add(socket);
  errors.set(socket, []);
  socket.ws.on('error', (error) => errors.get(socket)!.push(error));
  const openedAt = Date.now();
  socket.ws.once('close', (code, reason) => {
    opened.delete(socket);
    closedAt.set(socket, `${code} ${reason} after ${Date.now() - openedAt} ms`);
  });
  return socket;
}
const closedAt = new WeakMap<TestSocket, string>();

function describeSocket(socket: TestSocket): string {
  const errs = errors.get(socket) ?? [];
  return (
    `closed: ${socket.closeCode} (${closedAt.get(socket)})${errs.length ? `, errors: ${errs.map((e) => e.message).join('; ')}` : ''}` +
    `, ${socket.frames.length} frames, last: ${JSON.stringify(socket.frames.slice(-3)).slice(0, 600)}`
  );
}

export function roomUrl(wsUrl: string, roomId: string, token?: string, afterSeq?: number): string {
  const query = new URLSearchParams();
  if (token !== undefined) query.set('token', token);
  if (afterSeq !== undefined) query.set('after_seq', String(afterSeq));
  const text = query.toString();
  return `${wsUrl}/ws/${roomId}${text ? `?${text}` : ''}`;
}

/**
 * uWebSockets.js 20.30 (the newest build on npm) now and then closes a socket it has just
 * upgraded asynchronously inside res.cork() — 1006 right after the open event, before any frame:
 * HttpResponse::cork() reads the new WebSocket's memory as HTTP state and may find "connection:
 * close" there (uNetworking/uWebSockets#1928, fixed upstream by #1929; about one handshake in a
 * few thousand here). A client reconnects; so do these helpers, for that exact signature only.
 * They return once the server has answered on the socket: a room socket has then joined its
 * room's live feed, a notification socket has had its first frame.
 */
async function openVerified(url: string, kind: 'room' | 'notifications', protocols?: string[]): Promise<TestSocket> {
  for (let attempt = 1; ; attempt++) {
    const socket = await TestSocket.open(url, protocols);
    const deadline = Date.now() + 5000;
    if (kind === 'room') {
      // frames wait until the socket has caught up: the answer to this one means it has joined
      socket.send({ type: 'read', id: 'probe', client_id: PROBE });
    }
    const answered = () =>
      kind === 'room' ? socket.frames.findIndex((f) => f.type === 'error' && f.client_id === PROBE) : socket.frames.length > 0 ? 0 : -1;
    while (answered() < 0 && socket.closeCode === undefined && Date.now() < deadline) {
      await activity(socket, deadline - Date.now());
    }
    const index = answered();
    if (index >= 0) {
      if (kind === 'room') socket.frames.splice(index, 1);
      return track(socket);
    }
    if (socket.closeCode === 1006 && socket.frames.length === 0 && attempt < 3) continue;
    socket.ws.terminate();
    throw new Error(`${kind} socket did not answer (closed: ${socket.closeCode}, frames: ${JSON.stringify(socket.frames).slice(0, 300)})`);
  }
}
const PROBE = '__open_probe__';

/** A member's room socket, joined to the room's live feed; `afterSeq` resumes after that seq. */
export function openRoom(wsUrl: string, user: TestUser, roomId: string, afterSeq?: number): Promise<TestSocket> {
  return openVerified(roomUrl(wsUrl, roomId, user.token, afterSeq), 'room');
}

export function openNotifications(wsUrl: string, user: TestUser): Promise<TestSocket> {
  return openVerified(`${wsUrl}/ws/notifications?token=${encodeURIComponent(user.token)}`, 'notifications');
}

/** Opens a socket URL given in full (e.g. with the token as a sub-protocol). */
export function openTracked(url: string, kind: 'room' | 'notifications', protocols?: string[]): Promise<TestSocket> {
  return openVerified(url, kind, protocols);
}

/** Ends every socket these helpers opened that is still open (after() hooks). */
export function closeAllSockets(): void {
  for (const socket of opened) socket.ws.terminate();
  opened.clear();
}

type Match = string | ((frame: Frame) => boolean);
const matcher = (match: Match) => (typeof match === 'string' ? (f: Frame) => f.type === match : match);

/** Resolves on the next frame or close of the socket, or after `ms`. */
function activity(socket: TestSocket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.ws.off('message', done);
      socket.ws.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.ws.on('message', done);
    socket.ws.on('close', done);
  });
}

/**
 * Resolves once `count` frames matching `match` have arrived (counting every frame the socket
 * ever received, whether or not `next` already moved past it); rejects after `timeoutMs`.
 */
export async function waitFrames(socket: TestSocket, match: Match, count: number, timeoutMs = 5000, from = 0): Promise<Frame[]> {
  const test = matcher(match);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = socket.frames.slice(from).filter(test);
    if (found.length >= count) return found;
    const left = deadline - Date.now();
    if (left <= 0 || socket.closeCode !== undefined) {
      throw new Error(
        `${found.length} of ${count} frames matching ${typeof match === 'string' ? match : 'predicate'}` +
          ` within ${timeoutMs} ms (${describeSocket(socket)})`,
      );
    }
    await activity(socket, left);
  }
}

/**
 * The first frame matching `match` in the socket's whole history (or from index `from` on),
 * waiting up to `timeoutMs`.
 */
export async function waitFrame(socket: TestSocket, match: Match, timeoutMs = 5000, from = 0): Promise<Frame> {
  const frames = await waitFrames(socket, match, 1, timeoutMs, from);
  return frames[0]!;
}

/** Waits for the socket to be closed by the server, keeping every frame it got before. */
export async function waitClose(socket: TestSocket, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (socket.closeCode === undefined) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`socket not closed within ${timeoutMs} ms (${describeSocket(socket)})`);
    await activity(socket, left);
  }
  return socket.closeCode;
}

export function isOpen(socket: TestSocket): boolean {
  return socket.closeCode === undefined && socket.ws.readyState === WebSocket.OPEN;
}

/** Sends one message frame and resolves with its message_ack (matched by client_id). */
export async function sendMessage(socket: TestSocket, content: string, clientId: string, timeoutMs = 5000): Promise<Frame> {
  const from = socket.frames.length;
  socket.send({ type: 'message', content, client_id: clientId });
  return waitFrame(socket, (f) => (f.type === 'message_ack' || f.type === 'error') && f.client_id === clientId, timeoutMs, from).then(
    (frame) => {
      if (frame.type !== 'message_ack') throw new Error(`message ${clientId} refused: ${JSON.stringify(frame)}`);
      return frame;
    },
  );
}

/** What a refused handshake answered (plain HTTP), or the accepted sub-protocol. */
export interface Handshake {
  status: number;
  body?: any;
  protocol?: string;
}

/** One handshake with full control of the request headers; an accepted socket is closed at once. */
export function handshake(url: string, options: { protocols?: string[]; origin?: string } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], options.origin ? { origin: options.origin } : {});
    ws.once('open', () => {
      const protocol = ws.protocol;
      ws.terminate();
      resolve({ status: 101, protocol });
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => {
        req.destroy(); // or the refused connection stays open until the server's HTTP timeout
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the contract check below says so
        }
        try {
          checkHandshakeRefusal(res.statusCode ?? 0, body);
        } catch (error) {
          reject(error);
          return;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    ws.once('error', reject);
  });
}

/** One query as the database owner (the test's own database), on a connection of its own. */
export async function ownerQuery<T extends pg.QueryResultRow = any>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` until it returns true, failing after `timeoutMs` (for states only SQL can see). */
export async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs = 5000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Sends `count` message frames in bursts of `burst`, one burst every `everyMs`: fast enough to
 * share send batches, slow enough to stay under the 20 messages/s per-user limit.
 */
export async function sendPaced(
  socket: TestSocket,
  count: number,
  frameFor: (i: number) => { content: string; client_id: string },
  options: { burst?: number; everyMs?: number; shouldStop?: () => boolean } = {},
): Promise<number> {
  const burst = options.burst ?? 10;
  const everyMs = options.everyMs ?? 550;
  let sent = 0;
  while (sent < count && !options.shouldStop?.()) {
    const started = Date.now();
    for (let i = 0; i < burst && sent < count; i++, sent++) socket.send({ type: 'message', ...frameFor(sent) });
    if (sent < count) await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - (Date.now() - started))));
  }
  return sent;
}

/** Seqs of the `message` / `own_message` frames a socket got, in arrival order. */
export function seqsOf(socket: TestSocket, types: string[] = ['message', 'own_message']): number[] {
  return socket.frames.filter((f) => types.includes(f.type)).map((f) => f.seq as number);
}
