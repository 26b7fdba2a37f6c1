import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv';
import ajvFormats from 'ajv-formats';
import { HttpError } from './errors.js';

// CommonJS module: under NodeNext the function is its `default` export.
const addFormats = ajvFormats.default;

/** One ajv instance for the process: every schema is compiled once, at start-up. */
export const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv, ['email', 'uuid', 'date-time']);

export interface FieldError {
  field: string;
  message: string;
}

/**
 * What went wrong, one entry per field, in words a person can act on: a property's schema
 * `description` states its rule ("password must be 8–256 characters"), a missing one "is
 * required", and a body that is not an object says so.
 */
export function fieldErrors(errors: ErrorObject[] | null | undefined, schema?: object): FieldError[] {
  const properties = (schema as { properties?: Record<string, { description?: string }> } | undefined)?.properties ?? {};
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors ?? []) {
    const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined;
    const unexpected = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
    const field = missing ?? unexpected ?? (e.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'body');
    if (seen.has(field)) continue;
    seen.add(field);
    const rule = properties[field]?.description;
    const message = missing
      ? 'is required'
      : unexpected
        ? 'is not a known field'
        : field === 'body' && e.keyword === 'type'
          ? 'must be a JSON object'
          : rule
            ? `must be ${rule}`
            : (e.message ?? 'is invalid');
    out.push({ field, message });
  }
  return out;
}

/** The `error` string of a validation failure: every field's problem, in one sentence each. */
export function describeFieldErrors(details: FieldError[]): string {
  return details.length === 0 ? 'invalid request body' : details.map((d) => `${d.field} ${d.message}`).join('; ');
}

/**
 * A validator for one request body shape. Failures become 400 with the contract's error shape:
 * by default `invalid_request` with per-field details and an `error` naming each problem, or the
 * fixed message a route's contract names (e.g. "name is required (1-64 chars)").
 */
export function bodyValidator<T>(schema: JSONSchemaType<T>, failure?: { message: string; code: string }) {
  const check = ajv.compile(schema);
  return (body: unknown): T => {
    if (check(body)) return body;
    if (failure) throw new HttpError(400, failure.message, failure.code);
    const details = fieldErrors(check.errors, schema);
    throw new HttpError(400, describeFieldErrors(details), 'invalid_request', details);
  };
}

/** Trims the named string fields of a JSON object body, leaving anything else as it is. */
export function trimFields(body: unknown, fields: string[]): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...body };
  for (const field of fields) if (typeof copy[field] === 'string') copy[field] = (copy[field] as string).trim();
  return copy;
}
