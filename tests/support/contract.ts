import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { buildAsyncApi } from '../../src/docs/asyncapi.js';
import { buildOpenApi } from '../../src/docs/openapi.js';

/*
 * Contract tests: the shared test clients (request() and TestSocket in ./client.ts) pass every
 * HTTP response and every WebSocket frame they receive through these checks, so every test of
 * the suite also proves that /openapi.json and /asyncapi.json describe what the server does. A
 * response or frame the documents do not describe throws (HTTP) or fails the test file (frames).
 */

const openApi = buildOpenApi() as { paths: Record<string, Record<string, any>> };
const asyncApi = buildAsyncApi() as {
  channels: Record<string, any>;
  operations: Record<string, any>;
  components: { messages: Record<string, any> };
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajvFormats.default(ajv);
ajv.addSchema(openApi, 'openapi');
ajv.addSchema(asyncApi, 'asyncapi');

const compiled = new Map<string, ValidateFunction>();
function validatorAt(pointer: string): ValidateFunction {
  let validate = compiled.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: pointer });
    compiled.set(pointer, validate);
  }
  return validate;
}

const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

/** The OpenAPI paths as matchers, literal paths before templated ones (/rooms/me before /rooms/{room_id}). */
const pathMatchers = Object.keys(openApi.paths)
  .sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
  .map((template) => ({ template, regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));

export class ContractError extends Error {}

function describeErrors(validate: ValidateFunction): string {
  return ajv.errorsText(validate.errors, { separator: '; ' });
}

/**
 * Checks one HTTP exchange against /openapi.json: the route and method exist (or the answer is
 * the documented 404 route_not_found), the status is one the operation lists, the body matches
 * that status's schema (error codes included) and required headers are there.
 */
export function checkHttpResponse(method: string, url: string, status: number, headers: Headers, body: unknown): void {
  // CORS preflights are answered for every path by the browser protocol (docs/api.md), not the API
  if (method.toLowerCase() === 'options') return;
  // HEAD answers what GET would, without the body (docs/api.md)
  const head = method.toLowerCase() === 'head';
  const verb = head ? 'get' : method.toLowerCase();
  const path = new URL(url).pathname;
  const where = `${method.toUpperCase()} ${path} → ${status}`;
  const template = pathMatchers.find((m) => m.regex.test(path))?.template;
  const operation = template ? openApi.paths[template]![verb] : undefined;
  if (!operation) {
    const validate = validatorAt('openapi#/components/schemas/Error');
    if (head && status === 404) return;
    if (status !== 404 || !validate(body) || (body as { code: string }).code !== 'route_not_found') {
      throw new ContractError(
        `contract: ${where} is not in /openapi.json, and the answer is not 404 route_not_found: ${JSON.stringify(body)}`,
      );
    }
    return;
  }
  const response = operation.responses[String(status)];
  if (!response) {
    throw new ContractError(
      `contract: ${where}: status ${status} is not documented for this operation in /openapi.json (${JSON.stringify(body)})`,
    );
  }
  for (const [name, header] of Object.entries(response.headers ?? {}) as Array<[string, { required?: boolean }]>) {
    if (header.required && !headers.has(name)) throw new ContractError(`contract: ${where}: header ${name} is missing`);
  }
  const contentType = (headers.get('content-type') ?? '').split(';')[0]!.trim();
  const media = response.content?.[contentType];
  if (!media) {
    throw new ContractError(
      `contract: ${where}: content-type "${contentType}" is not one of ${Object.keys(response.content ?? {}).join(', ')}`,
    );
  }
  if (!media.schema || head) return;
  const pointer = `openapi#/paths/${escapePointer(template!)}/${verb}/responses/${status}/content/${escapePointer(contentType)}/schema`;
  const validate = validatorAt(pointer);
  if (!validate(body)) {
    throw new ContractError(
      `contract: ${where}: body does not match /openapi.json: ${describeErrors(validate)}; body: ${JSON.stringify(body).slice(0, 500)}`,
    );
  }
}

/** The server → client messages of a channel, by frame type, from the channel's `send` operations. */
function serverFrames(channel: string): Map<string, string> {
  const byType = new Map<string, string>();
  for (const operation of Object.values(asyncApi.operations)) {
    if (operation.action !== 'send' || operation.channel.$ref !== `#/channels/${channel}`) continue;
    for (const { $ref } of operation.messages as Array<{ $ref: string }>) {
      const key = $ref.split('/').pop()!;
      const type = asyncApi.components.messages[key].payload.properties.type.const as string;
      byType.set(type, `asyncapi#/components/messages/${escapePointer(key)}/payload`);
    }
  }
  return byType;
}
const framesOf = { room: serverFrames('room'), notifications: serverFrames('notifications') };

/** Which channel of /asyncapi.json a socket URL is. */
export function channelOf(url: string): 'room' | 'notifications' {
  return new URL(url).pathname === '/ws/notifications' ? 'notifications' : 'room';
}

/** Checks one frame the server sent against the channel's messages in /asyncapi.json; returns the problem, if any. */
export function checkServerFrame(channel: 'room' | 'notifications', frame: unknown): string | undefined {
  const type = (frame as { type?: unknown })?.type;
  const pointer = typeof type === 'string' ? framesOf[channel].get(type) : undefined;
  if (!pointer)
    return `contract: a ${channel} socket received a frame of type ${JSON.stringify(type)}, which /asyncapi.json does not list: ${JSON.stringify(frame)}`;
  const validate = validatorAt(pointer);
  if (!validate(frame))
    return `contract: ${channel} frame "${type}" does not match /asyncapi.json: ${describeErrors(validate)}; frame: ${JSON.stringify(frame).slice(0, 500)}`;
  return undefined;
}

/** A refused WebSocket handshake answers with the HTTP error body. */
export function checkHandshakeRefusal(status: number, body: unknown): void {
  const validate = validatorAt('openapi#/components/schemas/Error');
  if (status < 400 || !validate(body)) {
    throw new ContractError(`contract: a refused handshake answered ${status} ${JSON.stringify(body)}, not an error body`);
  }
}
