import { messageFrame, notificationServerFrames, readFrame, roomServerFrames, typingFrame } from '../schemas/frames.js';
import { responseSchemas } from '../schemas/responses.js';

/*
 * The AsyncAPI 3.0 document served at /asyncapi.json: the two WebSockets and every frame, built
 * from the schemas the gateway validates client frames with and the server-frame schemas every
 * test socket checks what it receives against (src/schemas/frames.ts). A new frame goes into
 * src/schemas/frames.ts; this file publishes whatever is there.
 */

const token = {
  token: {
    type: 'string',
    description: 'the JWT (`?token=<jwt>`); or the `Sec-WebSocket-Protocol: bearer.<jwt>` sub-protocol, echoed back',
  },
};

const handshakeErrors =
  'Refusals are plain HTTP answers before the upgrade, with the `Error` body: 400 `invalid_handshake` / ' +
  '`ambiguous_authorization` (two different tokens), 426 `unsupported_websocket_version`, 401 `missing_authorization` / ' +
  '`invalid_token` (also for a deleted or signed-out user), 403 `forbidden_origin`, 429 `too_many_sockets` (per user, per ' +
  'room, per client address)';

function messages(prefix: string, frames: Record<string, object>, direction: string): Record<string, object> {
  return Object.fromEntries(
    Object.entries(frames).map(([name, payload]) => [
      `${prefix}.${name}`,
      {
        name,
        title: `${name} (${direction})`,
        summary: (payload as { description?: string }).description ?? name,
        contentType: 'application/json',
        payload,
      },
    ]),
  );
}

export function buildAsyncApi(): Record<string, unknown> {
  const roomClient = messages('room.client', { message: messageFrame, typing: typingFrame, read: readFrame }, 'client → server');
  const roomServer = messages('room.server', roomServerFrames, 'server → client');
  const notificationServer = messages('notifications.server', notificationServerFrames, 'server → client');
  const notificationClient = messages(
    'notifications.client',
    {
      any: { description: 'Any frame: answered with an `error` frame, code `unexpected_frame`.' },
    },
    'client → server',
  );
  // AsyncAPI 3: an operation names the messages of its channel, by reference
  const refs = (names: Record<string, object>, channel: string) =>
    Object.keys(names).map((key) => ({ $ref: `#/channels/${channel}/messages/${key}` }));
  const channelMessages = (names: Record<string, object>) =>
    Object.fromEntries(Object.keys(names).map((key) => [key, { $ref: `#/components/messages/${key}` }]));

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Ephemeral chat WebSockets',
      version: '1.0.0',
      description:
        'JSON text frames of at most 64 KiB. The server pings; idle sockets close after 120 s. A socket whose ' +
        'outgoing buffer passes 1 MiB is closed with 1013 (it can resume); shutdown closes with 1001; a user who signs out ' +
        'everywhere, changes their password or deletes their account has every socket closed with 4401. The HTTP API is ' +
        'in /openapi.json; the prose contract is docs/api.md.',
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: { host: 'localhost:8080', protocol: 'ws', description: 'the gateway (wss behind a TLS proxy)' },
    },
    channels: {
      room: {
        address: '/ws/{room_id}',
        title: 'Room socket',
        description:
          "A member's live view of one open room. `?after_seq=N` first replays every message with seq > N, " +
          `then live ones, with no gap and no duplicate. ${handshakeErrors}; 404 \`room_not_found\`, 410 \`room_closed\` / ` +
          '`room_expired`, 400 `invalid_request` (bad `after_seq`).',
        parameters: { room_id: { description: 'the room id' } },
        messages: { ...channelMessages(roomClient), ...channelMessages(roomServer) },
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: { ...token, after_seq: { type: 'string', pattern: '^[0-9]+$', description: 'resume after this seq' } },
            },
          },
        },
      },
      notifications: {
        address: '/ws/notifications',
        title: 'Notification socket',
        description: `Badges, matches, room closings and the online count for one user. ${handshakeErrors}.`,
        messages: { ...channelMessages(notificationClient), ...channelMessages(notificationServer) },
        bindings: { ws: { method: 'GET', query: { type: 'object', properties: token } } },
      },
    },
    operations: {
      sendToRoom: {
        action: 'receive',
        channel: { $ref: '#/channels/room' },
        title: 'Client frames of a room socket',
        messages: refs(roomClient, 'room'),
      },
      receiveFromRoom: {
        action: 'send',
        channel: { $ref: '#/channels/room' },
        title: 'Server frames of a room socket',
        messages: refs(roomServer, 'room'),
      },
      sendToNotifications: {
        action: 'receive',
        channel: { $ref: '#/channels/notifications' },
        title: 'Anything a client sends (refused)',
        messages: refs(notificationClient, 'notifications'),
      },
      receiveNotifications: {
        action: 'send',
        channel: { $ref: '#/channels/notifications' },
        title: 'Server frames of the notification socket',
        messages: refs(notificationServer, 'notifications'),
      },
    },
    components: {
      schemas: { Error: responseSchemas.Error },
      messages: { ...roomClient, ...roomServer, ...notificationClient, ...notificationServer },
    },
  };
}
