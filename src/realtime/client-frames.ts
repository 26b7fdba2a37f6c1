import { UUID } from '../auth/tokens.js';
import { findUnstorableString } from '../http/text.js';
import { ajv } from '../http/validate.js';
import { messageFrame, readFrame, type ClientFrame } from '../schemas/frames.js';

export type { ClientFrame } from '../schemas/frames.js';

// the schemas are the wire format's documentation too (src/schemas/frames.ts, /asyncapi.json)
const validateMessage = ajv.compile(messageFrame);
const validateRead = ajv.compile(readFrame);

export class FrameError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly clientId?: string,
  ) {
    super(message);
  }
}

const MAX_CONTENT = 4000;

/**
 * Parses and validates one client frame; throws FrameError with the code of the `error` frame
 * the client gets back. Message content is returned trimmed.
 */
export function parseClientFrame(raw: ArrayBuffer): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    throw new FrameError('invalid_json', 'frame is not valid JSON');
  }
  const type = (value as { type?: unknown })?.type;
  // echoed in error frames only when it is one the client could have meant
  const rawClientId = (value as { client_id?: unknown })?.client_id;
  const clientId =
    typeof rawClientId === 'string' && rawClientId.length <= 64 && !findUnstorableString(rawClientId) ? rawClientId : undefined;
  if (type !== 'message' && type !== 'typing' && type !== 'read') {
    throw new FrameError('unknown_type', 'unknown frame type', clientId);
  }
  if (type === 'typing') return { type };
  if (type === 'read') {
    // ajv's uuid format also takes "urn:uuid:…", which PostgreSQL does not: the strict form only
    if (!validateRead(value) || !UUID.test(value.id)) throw new FrameError('invalid_id', 'read needs the id of a message', clientId);
    return { type, id: value.id.toLowerCase() };
  }
  if (!validateMessage(value)) {
    if (typeof (value as { content?: unknown }).content !== 'string') {
      throw new FrameError('invalid_content', 'content must be a string of 1-4000 characters', clientId);
    }
    throw new FrameError('invalid_client_id', 'client_id must be a string of 1-64 characters', clientId);
  }
  if (value.client_id !== undefined && findUnstorableString(value.client_id)) {
    throw new FrameError('invalid_client_id', 'client_id must not contain NUL characters or unpaired surrogates');
  }
  const content = value.content.trim();
  if (content.length === 0 || [...content].length > MAX_CONTENT) {
    throw new FrameError('invalid_content', 'content must be 1-4000 characters', clientId);
  }
  if (findUnstorableString(content)) {
    throw new FrameError('invalid_content', 'content must not contain NUL characters or unpaired surrogates', clientId);
  }
  return value.client_id === undefined ? { type, content } : { type, content, client_id: value.client_id };
}
