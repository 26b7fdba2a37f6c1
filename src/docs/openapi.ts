import {
  changePasswordBody,
  deleteAccountBody,
  joinBody,
  loginBody,
  reactionBody,
  registerBody,
  renameBody,
  reportBody,
} from '../schemas/requests.js';
import { responseSchemas } from '../schemas/responses.js';

/*
 * The OpenAPI 3.1 document served at /openapi.json, built from the schemas the server validates
 * with (src/schemas/). Adding a route: register it in src/routes/ AND add its operation below; a
 * test (tests/api/docs.test.ts) fails while the router and this table differ, and the contract
 * check of the test client (tests/support/contract.ts) fails on any response this table does not
 * describe (a status, an error code, a field).
 */

type Method = 'get' | 'post' | 'patch' | 'delete';

interface Operation {
  summary: string;
  description?: string;
  auth?: boolean;
  /** Request body schema (component name is derived from the operation). */
  body?: { schema: object; required: boolean };
  parameters?: object[];
  /** Success responses: status → schema (or `null` for the non-JSON media of the docs pages). */
  ok: Record<number, { description: string; schema?: string | object; content?: string[]; headers?: Record<string, object> }>;
  /** Error responses: status → the `code`s that status can carry on this route. */
  errors?: Record<number, string[]>;
}

const roomId = {
  name: 'room_id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'a room id (a malformed one is a 404)',
};
const messageId = {
  name: 'message_id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'a message id (a malformed one is a 404)',
};

/** Every route the router serves, keyed "METHOD /openapi/{path}". */
export const operations: Record<string, Operation> = {
  'get /health': {
    summary: 'Liveness with the database',
    ok: {
      200: { description: '`{"status":"ok"}` (plus `notify_queue_usage` when the NOTIFY queue is over 10 % full)', schema: 'Health' },
      503: { description: '`{"status":"unavailable"}`: the database does not answer', schema: 'Health' },
    },
  },
  'post /auth/register': {
    summary: 'Create an account',
    body: { schema: registerBody, required: true },
    ok: { 201: { description: 'the new user and a token', schema: 'Auth' } },
    errors: { 400: ['invalid_request', 'invalid_json'], 409: ['already_taken'], 429: ['rate_limited'] },
  },
  'post /auth/login': {
    summary: 'Log in by email or pseudo',
    body: { schema: loginBody, required: true },
    ok: { 200: { description: 'the user and a token', schema: 'Auth' } },
    errors: { 400: ['invalid_request', 'invalid_json'], 401: ['invalid_credentials'], 429: ['rate_limited'] },
  },
  'post /pool/join': {
    summary: 'Join the matching pool',
    auth: true,
    body: { schema: joinBody, required: false },
    ok: {
      201: { description: 'matched now', schema: 'Matched' },
      202: { description: '`{"message":"waiting for a match"}`', schema: 'Info' },
    },
    errors: { 400: ['invalid_request', 'invalid_json'], 401: ['invalid_token'], 409: ['already_in_pool', 'suspended'] },
  },
  'post /pool/leave': {
    summary: 'Leave the matching pool',
    auth: true,
    ok: { 200: { description: '`{"message":"left the pool"}`', schema: 'Info' } },
    errors: { 404: ['not_in_pool'] },
  },
  'get /rooms/me': {
    summary: "The caller's active rooms, newest first",
    auth: true,
    ok: { 200: { description: 'active rooms', schema: 'Rooms' } },
  },
  'get /rooms/{room_id}': {
    summary: 'One room of the caller (closed ones too)',
    auth: true,
    parameters: [roomId],
    ok: { 200: { description: 'the room', schema: 'Room' } },
    errors: { 404: ['room_not_found'] },
  },
  'get /rooms/{room_id}/messages': {
    summary: "A page of a room's history, oldest first",
    auth: true,
    parameters: [
      roomId,
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 200 } },
      { name: 'before', in: 'query', schema: { type: 'string', format: 'uuid' }, description: 'the newest page before this message' },
      {
        name: 'after_seq',
        in: 'query',
        schema: { type: 'integer', minimum: 0 },
        description: 'the oldest page after this seq (paging forward)',
      },
    ],
    ok: {
      200: {
        description: 'messages, oldest first',
        schema: 'Messages',
        headers: { 'X-Has-More': { required: true, schema: { type: 'string', enum: ['true', 'false'] } } },
      },
    },
    errors: { 400: ['invalid_request'], 404: ['room_not_found', 'message_not_found'] },
  },
  'patch /rooms/{room_id}/name': {
    summary: "Set the caller's private name of a room",
    auth: true,
    parameters: [roomId],
    body: { schema: renameBody, required: true },
    ok: { 200: { description: '`{"message":"room renamed", room}`', schema: 'Renamed' } },
    errors: { 400: ['invalid_name', 'invalid_request', 'invalid_json'], 404: ['room_not_found'] },
  },
  'delete /rooms/{room_id}': {
    summary: 'Close a room early (either member)',
    auth: true,
    parameters: [roomId],
    ok: { 200: { description: '`{"message":"room deleted"}`', schema: 'Info' } },
    errors: { 404: ['room_not_found'] },
  },
  'post /messages/{message_id}/reactions': {
    summary: "React to a message (replaces the caller's reaction)",
    auth: true,
    parameters: [messageId],
    body: { schema: reactionBody, required: true },
    ok: { 200: { description: '`{"message":"reaction saved"}`', schema: 'Info' } },
    errors: { 400: ['invalid_emoji', 'invalid_request', 'invalid_json'], 404: ['message_not_found'] },
  },
  'delete /messages/{message_id}/reactions': {
    summary: "Remove the caller's reaction",
    auth: true,
    parameters: [messageId],
    ok: { 200: { description: '`{"message":"reaction removed"}`', schema: 'Info' } },
    errors: { 404: ['message_not_found', 'reaction_not_found'] },
  },
  'post /auth/logout-all': {
    summary: 'Sign out everywhere: every token issued before now stops working, on every process',
    description: "The user's open sockets are closed with 4401.",
    auth: true,
    ok: { 200: { description: '`{"message":"signed out everywhere"}`', schema: 'Info' } },
  },
  'post /auth/password': {
    summary: 'Change the password; signs out everywhere else',
    auth: true,
    body: { schema: changePasswordBody, required: true },
    ok: { 200: { description: 'a fresh token for the caller (every older one is dead)', schema: 'Token' } },
    errors: { 403: ['wrong_password'], 429: ['rate_limited'] },
  },
  'delete /auth/me': {
    summary: 'Delete the account, with its password',
    description:
      "Closes the user's open rooms (the partners get room_closed), removes their pool entry, presence, " +
      'reactions, messages and the account; their tokens stop working.',
    auth: true,
    body: { schema: deleteAccountBody, required: true },
    ok: { 200: { description: '`{"message":"account deleted"}`', schema: 'Info' } },
    errors: { 403: ['wrong_password'], 429: ['rate_limited'] },
  },
  'post /rooms/{room_id}/block': {
    summary: 'Block the partner of a room (open or closed): the two are never matched again',
    description: 'An open room is closed with reason `blocked`. The API names the room, never the partner.',
    auth: true,
    parameters: [roomId],
    ok: { 200: { description: '`{"message":"room blocked"}`', schema: 'Info' } },
    errors: { 404: ['room_not_found'], 429: ['rate_limited'] },
  },
  'delete /rooms/{room_id}/block': {
    summary: "Lift the caller's block of a room",
    auth: true,
    parameters: [roomId],
    ok: { 200: { description: '`{"message":"block removed"}`', schema: 'Info' } },
    errors: { 404: ['room_not_found', 'block_not_found'] },
  },
  'get /blocks': {
    summary: "The caller's blocks, newest first",
    auth: true,
    ok: { 200: { description: '`[{room_id, blocked_at}]`', schema: 'Blocks' } },
  },
  'post /rooms/{room_id}/report': {
    summary: 'Report the partner of a room',
    description:
      "With `include_messages: true` the room's last 50 messages are copied into the report; without it, " +
      'nothing of the content is kept.',
    auth: true,
    parameters: [roomId],
    body: { schema: reportBody, required: true },
    ok: { 201: { description: '`{"message":"report received"}`', schema: 'Info' } },
    errors: { 404: ['room_not_found'], 409: ['already_reported'], 429: ['rate_limited'] },
  },
  'get /metrics': {
    summary: 'Prometheus metrics (on METRICS_PORT instead, when set: then 404 here)',
    description: 'Served by src/routes/metrics.ts on the uWS app itself, not through the router.',
    ok: { 200: { description: 'Prometheus text format', content: ['text/plain'] } },
    errors: { 404: ['route_not_found'] },
  },
  'get /openapi.json': {
    summary: 'This document',
    ok: { 200: { description: 'OpenAPI 3.1', schema: { type: 'object' } } },
  },
  'get /asyncapi.json': {
    summary: 'The WebSockets, as an AsyncAPI 3.0 document',
    ok: { 200: { description: 'AsyncAPI 3.0', schema: { type: 'object' } } },
  },
  'get /docs': {
    summary: 'The API reference, readable (Swagger UI, served locally)',
    ok: { 200: { description: 'HTML', content: ['text/html'] } },
  },
  'get /docs/websockets': {
    summary: 'The WebSocket reference, readable (rendered from /asyncapi.json)',
    ok: { 200: { description: 'HTML', content: ['text/html'] } },
  },
  'get /docs/assets/{file}': {
    summary: 'The files of the reference page (from the swagger-ui-dist package)',
    parameters: [
      { name: 'file', in: 'path', required: true, schema: { type: 'string', enum: ['swagger-ui.css', 'swagger-ui-bundle.js'] } },
    ],
    ok: { 200: { description: 'CSS or JavaScript', content: ['text/css', 'text/javascript'] } },
    errors: { 404: ['route_not_found'] },
  },
};

/** Errors every route can answer besides its own (request plumbing and the database). */
function commonErrors(method: Method, op: Operation): Record<number, string[]> {
  const errors: Record<number, string[]> = {};
  const add = (status: number, ...codes: string[]) => (errors[status] = [...new Set([...(errors[status] ?? []), ...codes])]);
  for (const [status, codes] of Object.entries(op.errors ?? {})) add(Number(status), ...codes);
  if (method !== 'get') {
    // every body is read and checked, even on routes that take none
    add(400, 'invalid_json', 'invalid_request');
    add(413, 'payload_too_large');
  }
  if (op.auth) {
    add(401, 'missing_authorization', 'invalid_token');
    add(400, 'ambiguous_authorization'); // two Authorization headers
  }
  if (!op.ok[503] && !op.ok[200]?.content) add(503, 'unavailable');
  // a failure nobody foresaw: logged once, answered without details, the process goes on
  add(500, 'internal');
  return errors;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  500: 'Unexpected failure (logged; never details)',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload too large',
  429: 'Too many requests (see the Retry-After header)',
  503: 'The database is unavailable, or the password-hashing queue is full (register, login: with Retry-After)',
};

export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = { ...responseSchemas };
  for (const [key, op] of Object.entries(operations)) {
    const [method, path] = key.split(' ') as [Method, string];
    const name = operationId(method, path);
    const responses: Record<string, unknown> = {};
    for (const [status, ok] of Object.entries(op.ok)) {
      const schema = typeof ok.schema === 'string' ? { $ref: `#/components/schemas/${ok.schema}` } : ok.schema;
      responses[status] = {
        description: ok.description,
        ...(ok.headers ? { headers: ok.headers } : {}),
        content: Object.fromEntries((ok.content ?? ['application/json']).map((type) => [type, schema ? { schema } : {}])),
      };
    }
    for (const [status, codes] of Object.entries(commonErrors(method, op))) {
      responses[status] = {
        description: `${STATUS_TEXT[Number(status)] ?? 'Error'}: ${codes.map((c) => `\`${c}\``).join(', ')}`,
        ...(status === '429' ? { headers: { 'Retry-After': { required: true, schema: { type: 'string' } } } } : {}),
        content: {
          'application/json': {
            schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { properties: { code: { enum: codes } } }] },
          },
        },
      };
    }
    let requestBody: unknown;
    if (op.body) {
      const bodyName = `${name[0]!.toUpperCase()}${name.slice(1)}Body`;
      schemas[bodyName] = op.body.schema;
      requestBody = {
        required: op.body.required,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${bodyName}` } } },
      };
    }
    paths[path] = {
      ...paths[path],
      [method]: {
        operationId: name,
        summary: op.summary,
        ...(op.description ? { description: op.description } : {}),
        ...(op.parameters ? { parameters: op.parameters } : {}),
        ...(requestBody ? { requestBody } : {}),
        ...(op.auth ? { security: [{ bearer: [] }] } : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ephemeral chat API',
      version: '1.0.0',
      description:
        'Anonymous ephemeral chat: matching pool, private rooms that live 24 h, reactions. The WebSockets ' +
        '(/ws/notifications and /ws/{room_id}) are described in /asyncapi.json. Every error body is `Error`; unknown ' +
        'routes answer 404 `route_not_found`. The prose contract is docs/api.md.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      responses: {
        RouteNotFound: {
          description: 'Any path or method not listed here: `{"error":"route not found","code":"route_not_found"}`',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}

/** "post /rooms/{room_id}/name" → "postRoomsRoomIdName" */
function operationId(method: Method, path: string): string {
  const words = path.split(/[/{}_.-]+/).filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** The OpenAPI path of a uWS pattern: /rooms/:room_id → /rooms/{room_id} */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z_]+)/g, '{$1}');
}
