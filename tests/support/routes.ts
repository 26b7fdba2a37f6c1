import assert from 'node:assert/strict';
import type { Response } from './client.js';

/** Every HTTP route of docs/api.md; `:id` is a room or message id, `auth` a bearer token needed. */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  auth: boolean;
  /** The route reads its body (the others ignore one). */
  body: boolean;
}

export const ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/health', auth: false, body: false },
  { method: 'POST', path: '/auth/register', auth: false, body: true },
  { method: 'POST', path: '/auth/login', auth: false, body: true },
  { method: 'POST', path: '/pool/join', auth: true, body: true },
  { method: 'POST', path: '/pool/leave', auth: true, body: false },
  { method: 'GET', path: '/rooms/me', auth: true, body: false },
  { method: 'GET', path: '/rooms/:id', auth: true, body: false },
  { method: 'GET', path: '/rooms/:id/messages', auth: true, body: false },
  { method: 'PATCH', path: '/rooms/:id/name', auth: true, body: true },
  { method: 'DELETE', path: '/rooms/:id', auth: true, body: false },
  { method: 'POST', path: '/messages/:id/reactions', auth: true, body: true },
  { method: 'DELETE', path: '/messages/:id/reactions', auth: true, body: false },
];

export const pathOf = (route: RouteSpec, id: string) => route.path.replace(':id', id);

/**
 * What any answer to any request must be: never a 5xx, and every 4xx the contract's error shape
 * `{error, code}` (two non-empty strings, and `details` only as an array).
 */
export function assertContractAnswer(res: Response, what: string): void {
  assert.ok(res.status < 500, `${what}: ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`);
  if (res.status < 400) return;
  const body = res.body as { error?: unknown; code?: unknown; details?: unknown };
  assert.equal(typeof body, 'object', `${what}: ${res.status} body is not JSON: ${String(res.body).slice(0, 200)}`);
  assert.ok(typeof body.error === 'string' && body.error.length > 0, `${what}: no error in ${JSON.stringify(body)}`);
  assert.ok(typeof body.code === 'string' && /^[a-z_]+$/.test(body.code), `${what}: bad code in ${JSON.stringify(body)}`);
  const keys = Object.keys(body).filter((k) => k !== 'error' && k !== 'code' && k !== 'details');
  assert.deepEqual(keys, [], `${what}: extra keys in ${JSON.stringify(body)}`);
  if ('details' in body) assert.ok(Array.isArray(body.details), `${what}: details is not an array`);
}
