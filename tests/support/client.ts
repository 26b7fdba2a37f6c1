import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { channelOf, checkHandshakeRefusal, checkHttpResponse, checkServerFrame } from './contract.js';

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * JSON over HTTP against a test server. Every response is checked against /openapi.json
 * (./contract.ts): a response the document does not describe throws.
 */
export async function request<T = any>(
  base: string,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
    /** false only for a server that is not this API (a test's own uWS app): skips the contract check. */
    contract?: boolean;
  } = {},
): Promise<Response<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // leave non-JSON bodies as text: a test asserting JSON will fail on it
  }
  if (options.contract !== false) checkHttpResponse(method, base + path, res.status, res.headers, parsed);
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export interface TestUser {
  token: string;
  id: string;
  pseudo: string;
  email: string;
  password: string;
  country: string;
}

export function uniqueName(prefix = 'u'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export async function registerUser(
  base: string,
  overrides: Partial<{ pseudo: string; email: string; country: string; password: string }> = {},
): Promise<TestUser> {
  const pseudo = overrides.pseudo ?? uniqueName();
  const input = { pseudo, email: `${pseudo}@example.com`, country: 'FR', password: 'correct horse', ...overrides };
  const res = await request(base, 'POST', '/auth/register', { body: input });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    token: res.body.token,
    id: res.body.user.id,
    pseudo: res.body.user.pseudo,
    email: res.body.user.email,
    password: input.password,
    country: res.body.user.country,
  };
}

/** Two new users paired into a room: `a` waited, `b` joined. */
export async function matchPair(base: string, countries: [string, string] = ['FR', 'NG']) {
  const a = await registerUser(base, { country: countries[0] });
  const b = await registerUser(base, { country: countries[1] });
  const waiting = await request(base, 'POST', '/pool/join', { token: a.token });
  if (waiting.status !== 202) throw new Error(`join a: ${waiting.status} ${JSON.stringify(waiting.body)}`);
  const matched = await request(base, 'POST', '/pool/join', { token: b.token });
  if (matched.status !== 201) throw new Error(`join b: ${matched.status} ${JSON.stringify(matched.body)}`);
  return { a, b, roomId: matched.body.room_id as string };
}

export type Frame = Record<string, any>;

/**
 * A WebSocket client that records every frame, so a test can wait for the one it expects with a
 * deadline instead of sleeping: `await ws.next('message_ack')`. Every frame is checked against
 * /asyncapi.json (./contract.ts); one it does not describe fails the test file (an uncaught
 * error), whatever the test itself asserts.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  /** Frames the server sent that /asyncapi.json does not describe. */
  readonly contractViolations: string[] = [];
  closeCode: number | undefined;
  private cursor = 0;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    url: string,
  ) {
    const channel = channelOf(url);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      this.frames.push(frame);
      const violation = checkServerFrame(channel, frame);
      if (violation) {
        this.contractViolations.push(violation);
        // thrown outside the ws event handler, so it cannot be swallowed: node:test fails the file
        setImmediate(() => {
          throw new Error(violation);
        });
      }
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static open(url: string, protocols?: string[]): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      const socket = new TestSocket(ws, url);
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => {
          try {
            checkHandshakeRefusal(res.statusCode ?? 0, JSON.parse(body));
          } catch (error) {
            reject(error);
            return;
          }
          reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body }));
        });
      });
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame (after those already taken) matching `match`, within `timeoutMs`. */
  async next(match: string | ((frame: Frame) => boolean), timeoutMs = 5000): Promise<Frame> {
    const test = typeof match === 'string' ? (f: Frame) => f.type === match : match;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++]!;
        if (test(frame)) return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closeCode !== undefined) {
        throw new Error(
          `no frame matching ${typeof match === 'string' ? match : 'predicate'} within ${timeoutMs} ms` +
            ` (closed: ${this.closeCode}); got: ${JSON.stringify(this.frames.slice(-5))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** All frames of a type received so far (taken or not). */
  all(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  waitClosed(timeoutMs = 5000): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
      this.ws.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
