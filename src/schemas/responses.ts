/*
 * The objects the HTTP API answers with, as JSON Schemas. They are published in /openapi.json
 * (src/docs/openapi.ts) and every response of the test suite is checked against them
 * (tests/support/contract.ts): a field added, removed or retyped on the server without this file
 * fails the tests. Objects are closed (`additionalProperties: false`) for that reason.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const uuid = { type: 'string', format: 'uuid' } as const;
const timestamp = { type: 'string', format: 'date-time', description: 'RFC 3339 UTC with milliseconds' } as const;

export const responseSchemas = {
  Error: {
    type: 'object',
    description:
      'Every error body. `error` is the human-readable message (exact strings in docs/api.md), `code` the stable snake_case code.',
    properties: {
      error: { type: 'string' },
      code: { type: 'string' },
      details: {
        type: 'array',
        description: 'validation failures, one per field',
        items: {
          type: 'object',
          properties: { field: { type: 'string' }, message: { type: 'string' } },
          required: ['field', 'message'],
          additionalProperties: false,
        },
      },
    },
    required: ['error', 'code'],
    additionalProperties: false,
  },
  Info: {
    type: 'object',
    properties: { message: { type: 'string' } },
    required: ['message'],
    additionalProperties: false,
  },
  Health: {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ok', 'unavailable'] },
      notify_queue_usage: { type: 'number', minimum: 0, maximum: 1, description: 'only when the NOTIFY queue is more than 10 % full' },
    },
    required: ['status'],
    additionalProperties: false,
  },
  User: {
    type: 'object',
    properties: {
      id: uuid,
      pseudo: { type: 'string' },
      email: { type: 'string', format: 'email' },
      country: { type: 'string', pattern: '^[A-Z]{2}$' },
      created_at: timestamp,
    },
    required: ['id', 'pseudo', 'email', 'country', 'created_at'],
    additionalProperties: false,
  },
  Auth: {
    type: 'object',
    properties: { token: { type: 'string', description: 'HS256 JWT, valid 72 h' }, user: ref('User') },
    required: ['token', 'user'],
    additionalProperties: false,
  },
  Room: {
    type: 'object',
    description: 'A room from the caller\'s side (`me`). The partner-side `user_?_room_name` always reads "Stranger".',
    properties: {
      id: uuid,
      country_a: { type: 'string' },
      country_b: { type: 'string' },
      user_a_room_name: { type: 'string' },
      user_b_room_name: { type: 'string' },
      created_at: timestamp,
      expires_at: timestamp,
      is_active: { type: 'boolean' },
      me: { type: 'string', enum: ['a', 'b'] },
      name: { type: 'string', description: "the caller's own name for the room" },
      partner_country: { type: 'string' },
      unread_count: { type: 'integer', minimum: 0 },
      last_message: {
        oneOf: [
          {
            type: 'object',
            properties: { id: uuid, content: { type: 'string' }, sent_at: timestamp, mine: { type: 'boolean' } },
            required: ['id', 'content', 'sent_at', 'mine'],
            additionalProperties: false,
          },
          { type: 'null' },
        ],
      },
      closed_reason: { oneOf: [{ type: 'string', enum: ['closed', 'expired', 'blocked'] }, { type: 'null' }] },
    },
    required: [
      'id',
      'country_a',
      'country_b',
      'user_a_room_name',
      'user_b_room_name',
      'created_at',
      'expires_at',
      'is_active',
      'me',
      'name',
      'partner_country',
      'unread_count',
      'last_message',
      'closed_reason',
    ],
    additionalProperties: false,
  },
  Rooms: { type: 'array', items: ref('Room') },
  Matched: {
    type: 'object',
    properties: { room_id: uuid, room: ref('Room') },
    required: ['room_id', 'room'],
    additionalProperties: false,
  },
  Renamed: {
    type: 'object',
    properties: { message: { type: 'string', const: 'room renamed' }, room: ref('Room') },
    required: ['message', 'room'],
    additionalProperties: false,
  },
  Reaction: {
    type: 'object',
    properties: { user_id: { type: 'string', description: "the caller's id, or the partner's per-room alias" }, emoji: { type: 'string' } },
    required: ['user_id', 'emoji'],
    additionalProperties: false,
  },
  Message: {
    type: 'object',
    properties: {
      id: uuid,
      seq: { type: 'integer', minimum: 1, description: 'increases by 1 per room' },
      sender_id: { type: 'string', description: "the caller's id for their messages, a per-room alias for the partner's" },
      content: { type: 'string' },
      is_read: { type: 'boolean' },
      sent_at: timestamp,
      client_id: { type: ['string', 'null'], description: "shown on the caller's own messages only" },
      reactions: { type: 'array', items: ref('Reaction') },
    },
    required: ['id', 'seq', 'sender_id', 'content', 'is_read', 'sent_at', 'client_id', 'reactions'],
    additionalProperties: false,
  },
  Messages: { type: 'array', items: ref('Message') },
  Block: {
    type: 'object',
    properties: { room_id: uuid, blocked_at: timestamp },
    required: ['room_id', 'blocked_at'],
    additionalProperties: false,
  },
  Blocks: { type: 'array', items: ref('Block'), description: 'newest first; a block names its room, never the partner' },
  Token: {
    type: 'object',
    properties: { token: { type: 'string', description: 'a fresh HS256 JWT, valid 72 h; every older token of the user is dead' } },
    required: ['token'],
    additionalProperties: false,
  },
} as const;
