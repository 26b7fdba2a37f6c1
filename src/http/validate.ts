import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv';
import ajvFormats from 'ajv-formats';
import { HttpError } from './errors.js';

// CommonJS module: under NodeNext the function is its `default` export.
const addFormats = ajvFormats.default;

/** One ajv instance for the process: every schema is compiled once, at start-up. */
export const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['email', 'uuid']);

export interface FieldError {
  field: string;
  message: string;
}

export function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => {
    const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined;
    const field = missing ?? (e.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'body');
    return { field, message: missing ? 'is required' : (e.message ?? 'is invalid') };
  });
}

/**
 * A validator for one request body shape. Failures become 400 with the contract's error shape:
 * by default `invalid_request` with per-field details, or the fixed message a route's contract
 * names (e.g. "name is required (1-64 chars)").
 */
export function bodyValidator<T>(schema: JSONSchemaType<T>, failure?: { message: string; code: string }) {
  const check = ajv.compile(schema);
  return (body: unknown): T => {
    if (check(body)) return body;
    if (failure) throw new HttpError(400, failure.message, failure.code);
    throw new HttpError(400, 'invalid request body', 'invalid_request', fieldErrors(check.errors));
  };
}

/** Trims the named string fields of a JSON object body, leaving anything else as it is. */
export function trimFields(body: unknown, fields: string[]): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...body };
  for (const field of fields) if (typeof copy[field] === 'string') copy[field] = (copy[field] as string).trim();
  return copy;
}
