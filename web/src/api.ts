/** The public HTTP API (docs/api.md), exactly as any other client uses it. */
import { loadSession, type User } from './session.js';

export interface Room {
  id: string;
  created_at: string;
  expires_at: string;
  is_active: boolean;
  me: 'a' | 'b';
  name: string;
  partner_country: string;
  unread_count: number;
  last_message: { id: string; content: string; sent_at: string; mine: boolean } | null;
  closed_reason: 'closed' | 'expired' | null;
}

export interface Reaction {
  user_id: string;
  emoji: string;
}

export interface Message {
  id: string;
  seq: number;
  sender_id: string;
  content: string;
  is_read: boolean;
  sent_at: string;
  client_id: string | null;
  reactions: Reaction[];
}

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly details: FieldError[] = [],
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Set by the app: what to do when the server no longer accepts the token. */
let onUnauthorized: () => void = () => {};
export function handleUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<{ body: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  const token = loadSession()?.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check your connection.', 'network');
  }
  const parsed = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok) {
    const error = new ApiError(
      res.status,
      typeof parsed?.error === 'string' ? parsed.error : `request failed (${res.status})`,
      typeof parsed?.code === 'string' ? parsed.code : 'unknown',
      Array.isArray(parsed?.details) ? (parsed.details as FieldError[]) : [],
      Number(res.headers.get('retry-after')) || undefined,
    );
    if (res.status === 401 && token) onUnauthorized();
    throw error;
  }
  return { body: parsed as T, headers: res.headers };
}

export const api = {
  register: (input: { pseudo: string; email: string; country: string; password: string }) =>
    request<{ token: string; user: User }>('POST', '/auth/register', input),
  login: (identifier: string, password: string) => request<{ token: string; user: User }>('POST', '/auth/login', { identifier, password }),
  joinPool: (sameCountry: boolean) =>
    request<{ room_id?: string; room?: Room; message?: string }>('POST', '/pool/join', { same_country: sameCountry }),
  leavePool: () => request<{ message: string }>('POST', '/pool/leave'),
  myRooms: () => request<Room[]>('GET', '/rooms/me'),
  room: (id: string) => request<Room>('GET', `/rooms/${encodeURIComponent(id)}`),
  messages: (id: string, before?: string) =>
    request<Message[]>('GET', `/rooms/${encodeURIComponent(id)}/messages?limit=40${before ? `&before=${encodeURIComponent(before)}` : ''}`),
  rename: (id: string, name: string) => request<{ room: Room }>('PATCH', `/rooms/${encodeURIComponent(id)}/name`, { name }),
  close: (id: string) => request<{ message: string }>('DELETE', `/rooms/${encodeURIComponent(id)}`),
  react: (messageId: string, emoji: string) => request('POST', `/messages/${encodeURIComponent(messageId)}/reactions`, { emoji }),
  unreact: (messageId: string) => request('DELETE', `/messages/${encodeURIComponent(messageId)}/reactions`),
};
