import type { JSONSchemaType } from 'ajv';
import { ajv } from '../http/validate.js';

/*
 * The NOTIFY envelope: what PostgreSQL sends on the chat_events channel
 * (db/functions/internal/020_notify.sql and its callers) and what the hub routes. This file is
 * its one definition: the TypeScript types below are checked against the JSON Schemas by the
 * compiler (JSONSchemaType), the hub validates every envelope it receives with them, and the SQL
 * tests validate every envelope the functions emit (tests/support/sql.ts). A field added in SQL
 * goes here first, or the SQL tests fail; one the hub reads goes here, or it does not compile.
 * docs/architecture.md explains the events.
 */

export type Side = 'a' | 'b';

/** What every room event carries: the room and its two members, so the gateway routes without a lookup. */
interface RoomEventBase {
  v: 1;
  room: string;
  users: [string, string];
}

export interface TypingEvent extends RoomEventBase {
  type: 'typing';
  side: Side;
}
export interface ReadMovedEvent extends RoomEventBase {
  type: 'read.moved';
  side: Side;
  reader: string;
  id: string;
  seq: number;
  read_at: string;
}
export interface ReactionChangedEvent extends RoomEventBase {
  type: 'reaction.changed';
  side: Side;
  message_id: string;
  user: string;
  alias: string;
  action: 'add' | 'remove';
  emoji?: string;
}
export interface RoomCreatedEvent extends RoomEventBase {
  type: 'room.created';
  waiter: string;
}
export interface RoomClosedEvent extends RoomEventBase {
  type: 'room.closed';
  reason: 'closed' | 'expired' | 'blocked';
}

/** One stored message in a messages.created envelope, with its own routing. */
export interface CreatedMessage {
  room: string;
  users: [string, string];
  seq: number;
  id: string;
  side: Side;
  sender: string;
  alias: string;
  recipient: string;
  /** null when the message was too large for an envelope (`content_omitted`): read it from the table. */
  content: string | null;
  content_omitted?: true;
  client_id: string | null;
  sent_at: string;
  unread_count: number;
  /** `${gatewayId}:${socketId}` of the sending socket: it gets the ack instead of an own_message. */
  origin: string | null;
}

export interface MessagesCreatedEvent {
  v: 1;
  type: 'messages.created';
  messages: CreatedMessage[];
}

/** Events about a user rather than a room: every gateway updates its token cache and closes the user's sockets. */
export interface UserRevokedEvent {
  v: 1;
  type: 'user.revoked';
  user: string;
  /** The epoch second tokens must now be issued at or after. */
  valid_from: number;
}
export interface UserDeletedEvent {
  v: 1;
  type: 'user.deleted';
  user: string;
}
export type UserEvent = UserRevokedEvent | UserDeletedEvent;

export type RoomEvent = TypingEvent | ReadMovedEvent | ReactionChangedEvent | RoomCreatedEvent | RoomClosedEvent;
export type ChatEvent = RoomEvent | MessagesCreatedEvent | UserEvent;

const uuid = { type: 'string', format: 'uuid' } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;
const side = { type: 'string', enum: ['a', 'b'] } as const;
const users = { type: 'array', items: [uuid, uuid], minItems: 2, maxItems: 2 } as const;
const base = { v: { type: 'integer', const: 1 }, room: uuid, users } as const;
const baseRequired = ['v', 'type', 'room', 'users'] as const;

const typing: JSONSchemaType<TypingEvent> = {
  type: 'object',
  properties: { ...base, type: { type: 'string', const: 'typing' }, side },
  required: [...baseRequired, 'side'],
  additionalProperties: false,
};

const readMoved: JSONSchemaType<ReadMovedEvent> = {
  type: 'object',
  properties: {
    ...base,
    type: { type: 'string', const: 'read.moved' },
    side,
    reader: uuid,
    id: uuid,
    seq: { type: 'integer', minimum: 1 },
    read_at: timestamp,
  },
  required: [...baseRequired, 'side', 'reader', 'id', 'seq', 'read_at'],
  additionalProperties: false,
};

// JSONSchemaType would make the optional emoji nullable, which SQL never sends: checked by the tests only
const reactionChanged = {
  type: 'object',
  properties: {
    ...base,
    type: { type: 'string', const: 'reaction.changed' },
    side,
    message_id: uuid,
    user: uuid,
    alias: { type: 'string' },
    action: { type: 'string', enum: ['add', 'remove'] },
    emoji: { type: 'string' },
  },
  required: [...baseRequired, 'side', 'message_id', 'user', 'alias', 'action'],
  additionalProperties: false,
} as unknown as JSONSchemaType<ReactionChangedEvent>;

const roomCreated: JSONSchemaType<RoomCreatedEvent> = {
  type: 'object',
  properties: { ...base, type: { type: 'string', const: 'room.created' }, waiter: uuid },
  required: [...baseRequired, 'waiter'],
  additionalProperties: false,
};

const roomClosed: JSONSchemaType<RoomClosedEvent> = {
  type: 'object',
  properties: {
    ...base,
    type: { type: 'string', const: 'room.closed' },
    reason: { type: 'string', enum: ['closed', 'expired', 'blocked'] },
  },
  required: [...baseRequired, 'reason'],
  additionalProperties: false,
};

const createdMessage = {
  type: 'object',
  properties: {
    room: uuid,
    users,
    seq: { type: 'integer', minimum: 1 },
    id: uuid,
    side,
    sender: uuid,
    alias: { type: 'string' },
    recipient: uuid,
    content: { type: 'string', nullable: true },
    content_omitted: { type: 'boolean', const: true },
    client_id: { type: 'string', nullable: true },
    sent_at: timestamp,
    unread_count: { type: 'integer', minimum: 0 },
    origin: { type: 'string', nullable: true },
  },
  required: [
    'room',
    'users',
    'seq',
    'id',
    'side',
    'sender',
    'alias',
    'recipient',
    'content',
    'client_id',
    'sent_at',
    'unread_count',
    'origin',
  ],
  additionalProperties: false,
} as const;

// (the same for content_omitted, optional but never null)
const messagesCreated = {
  type: 'object',
  properties: {
    v: { type: 'integer', const: 1 },
    type: { type: 'string', const: 'messages.created' },
    messages: { type: 'array', items: createdMessage },
  },
  required: ['v', 'type', 'messages'],
  additionalProperties: false,
} as unknown as JSONSchemaType<MessagesCreatedEvent>;

const userRevoked: JSONSchemaType<UserRevokedEvent> = {
  type: 'object',
  properties: {
    v: { type: 'integer', const: 1 },
    type: { type: 'string', const: 'user.revoked' },
    user: uuid,
    valid_from: { type: 'integer', minimum: 0 },
  },
  required: ['v', 'type', 'user', 'valid_from'],
  additionalProperties: false,
};

const userDeleted: JSONSchemaType<UserDeletedEvent> = {
  type: 'object',
  properties: { v: { type: 'integer', const: 1 }, type: { type: 'string', const: 'user.deleted' }, user: uuid },
  required: ['v', 'type', 'user'],
  additionalProperties: false,
};

/** The envelope's JSON Schema per event type. */
export const envelopeSchemas = {
  typing,
  'read.moved': readMoved,
  'reaction.changed': reactionChanged,
  'room.created': roomCreated,
  'room.closed': roomClosed,
  'messages.created': messagesCreated,
  'user.revoked': userRevoked,
  'user.deleted': userDeleted,
} as const;

/** The whole envelope as one JSON Schema (for documentation and tools). */
export const envelopeSchema = { oneOf: Object.values(envelopeSchemas) };

const validators = new Map(Object.entries(envelopeSchemas).map(([type, schema]) => [type, ajv.compile(schema)]));

/** The event, typed, when it matches its schema; otherwise the reason it does not. */
export function parseEnvelope(value: unknown): { event: ChatEvent } | { problem: string } {
  const type = (value as { type?: unknown })?.type;
  const validate = typeof type === 'string' ? validators.get(type) : undefined;
  if (!validate) return { problem: `unknown event type ${JSON.stringify(type)}` };
  if (!validate(value)) return { problem: `${type}: ${ajv.errorsText(validate.errors)}` };
  return { event: value as ChatEvent };
}
