import type { JSONSchemaType } from 'ajv';

/*
 * The WebSocket frames, as JSON Schemas. Client frames are what src/realtime/client-frames.ts
 * validates with; server frames are what the gateway sends. Both are published in /asyncapi.json
 * (src/docs/asyncapi.ts), and every frame a test socket receives is checked against them
 * (tests/support/contract.ts), so a frame the server sends differently fails the tests.
 */

export type ClientFrame = { type: 'message'; content: string; client_id?: string } | { type: 'typing' } | { type: 'read'; id: string };

export type MessageFrame = Extract<ClientFrame, { type: 'message' }>;
export type ReadFrame = Extract<ClientFrame, { type: 'read' }>;

export const messageFrame = {
  type: 'object',
  description: 'Sends a message. `content` is trimmed and must then be 1–4000 characters. `client_id` makes the send idempotent.',
  properties: {
    type: { type: 'string', const: 'message' },
    content: { type: 'string' },
    client_id: { type: 'string', minLength: 1, maxLength: 64 },
  },
  required: ['type', 'content'],
} as unknown as JSONSchemaType<MessageFrame>; // optional without nullable: {"client_id": null} is invalid

export const readFrame: JSONSchemaType<ReadFrame> = {
  type: 'object',
  description: 'Marks that partner message and every earlier one as read.',
  properties: { type: { type: 'string', const: 'read' }, id: { type: 'string', format: 'uuid' } },
  required: ['type', 'id'],
};

export const typingFrame = {
  type: 'object',
  description: 'The user is typing (relayed to the partner at most twice a second).',
  properties: { type: { type: 'string', const: 'typing' } },
  required: ['type'],
} as const;

const uuid = { type: 'string', format: 'uuid' } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const closed = (properties: Record<string, unknown>, description: string) => ({
  type: 'object',
  description,
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const reason = { type: 'string', enum: ['closed', 'expired', 'blocked'] } as const;

/** The codes of `error` frames on a room socket (docs/api.md lists their meaning). */
export const ROOM_ERROR_CODES = [
  'invalid_json',
  'unknown_type',
  'invalid_content',
  'invalid_client_id',
  'invalid_id',
  'invalid_frame',
  'message_not_found',
  'rate_limited',
  'room_closed',
  'room_not_found',
  'unavailable',
  'internal',
] as const;

const messageFields = {
  id: uuid,
  seq: { type: 'integer', minimum: 1 },
  content: { type: 'string' },
  sender_id: { type: 'string' },
  sent_at: timestamp,
};

/** Frames the server sends on a room socket, by name. */
export const roomServerFrames = {
  message: closed({ type: { const: 'message' }, ...messageFields }, "A partner's message (`sender_id` is their per-room alias)."),
  own_message: closed(
    { type: { const: 'own_message' }, ...messageFields, client_id: { type: ['string', 'null'] } },
    "The user's own message, sent from another socket (or replayed on resume).",
  ),
  message_ack: closed(
    {
      type: { const: 'message_ack' },
      id: uuid,
      seq: { type: 'integer', minimum: 1 },
      client_id: { type: ['string', 'null'] },
      sent_at: timestamp,
    },
    "The sending socket's message is committed; acks come in the order the messages were sent.",
  ),
  typing: closed({ type: { const: 'typing' } }, 'The partner is typing.'),
  read: closed({ type: { const: 'read' }, id: uuid, read_at: timestamp }, 'The partner read up to this message.'),
  reaction: {
    type: 'object',
    description: 'A reaction was added or removed (`emoji` only with `add`).',
    properties: {
      type: { const: 'reaction' },
      message_id: uuid,
      user_id: { type: 'string' },
      emoji: { type: 'string' },
      action: { type: 'string', enum: ['add', 'remove'] },
    },
    required: ['type', 'message_id', 'user_id', 'action'],
    additionalProperties: false,
  },
  room_closed: closed(
    { type: { const: 'room_closed' }, room_id: uuid, reason },
    'The room was closed, expired, or blocked by a member; the socket is closed with 1000 right after.',
  ),
  error: {
    type: 'object',
    description: 'A frame was refused (the socket stays open). Carries the `client_id` of the message frame it is about.',
    properties: {
      type: { const: 'error' },
      code: { type: 'string', enum: ROOM_ERROR_CODES },
      message: { type: 'string' },
      client_id: { type: 'string' },
    },
    required: ['type', 'code', 'message'],
    additionalProperties: false,
  },
} as const;

/** Frames the server sends on the notification socket, by name. */
export const notificationServerFrames = {
  new_message: closed(
    {
      type: { const: 'new_message' },
      room_id: uuid,
      id: { type: 'string', description: "the sender's per-room alias" },
      message_id: uuid,
      unread_count: { type: 'integer', minimum: 0 },
    },
    "A partner message arrived in one of the user's rooms.",
  ),
  matched: closed({ type: { const: 'matched' }, room_id: uuid }, 'The waiting user was paired.'),
  room_closed: closed(
    { type: { const: 'room_closed' }, room_id: uuid, reason },
    "One of the user's rooms closed, expired, or was blocked by a member.",
  ),
  unread: closed(
    {
      type: { const: 'unread' },
      rooms: {
        type: 'array',
        items: closed({ room_id: uuid, unread_count: { type: 'integer', minimum: 0 } }, 'one open room'),
      },
    },
    'Unread count of every open room; on connect and whenever the user reads.',
  ),
  online_count: closed(
    { type: { const: 'online_count' }, count: { type: 'integer', minimum: 0 } },
    'Distinct users with a notification socket open, across all processes; on connect and on change.',
  ),
  error: closed(
    { type: { const: 'error' }, code: { const: 'unexpected_frame' }, message: { type: 'string' } },
    'The answer to any frame a client sends on this socket.',
  ),
} as const;
