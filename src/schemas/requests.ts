import type { JSONSchemaType } from 'ajv';

/*
 * The request bodies of the HTTP API: ajv validates with these schemas (src/routes/*) and the
 * OpenAPI document (src/docs/openapi.ts) publishes the same objects, so the two cannot differ.
 * A property's `description` is also the rule a validation failure states: "<field> must be
 * <description>" (src/http/validate.ts), so it reads as the end of that sentence.
 */

export interface RegisterBody {
  pseudo: string;
  email: string;
  country: string;
  password: string;
}

export interface LoginBody {
  identifier: string;
  password: string;
}

export interface JoinBody {
  same_country?: boolean;
}

export interface RenameBody {
  name: string;
}

export interface ReactionBody {
  emoji: string;
}

/** The reasons a report may give (api.report_room checks the same list). */
export const REPORT_REASONS = ['spam', 'harassment', 'hate', 'sexual', 'violence', 'self_harm', 'underage', 'other'] as const;

export interface ReportBody {
  reason: (typeof REPORT_REASONS)[number];
  note?: string;
  include_messages?: boolean;
}

export interface DeleteAccountBody {
  password: string;
}

export interface ChangePasswordBody {
  old_password: string;
  new_password: string;
}

export const registerBody: JSONSchemaType<RegisterBody> = {
  type: 'object',
  properties: {
    pseudo: {
      type: 'string',
      minLength: 2,
      maxLength: 32,
      pattern: '^[\\p{L}\\p{N}_.\\-]+$',
      description: '2–32 characters: letters, digits, _ . -',
    },
    email: { type: 'string', maxLength: 254, format: 'email', description: 'a valid email address (at most 254 characters)' },
    country: { type: 'string', pattern: '^[A-Za-z]{2}$', description: 'an ISO 3166-1 alpha-2 country code, e.g. FR' },
    password: { type: 'string', minLength: 8, maxLength: 256, description: '8–256 characters' },
  },
  required: ['pseudo', 'email', 'country', 'password'],
};

export const loginBody: JSONSchemaType<LoginBody> = {
  type: 'object',
  properties: {
    identifier: { type: 'string', minLength: 1, maxLength: 320, description: 'the email or the pseudo (1–320 characters)' },
    password: { type: 'string', minLength: 1, maxLength: 256, description: '1–256 characters' },
  },
  required: ['identifier', 'password'],
};

// `nullable` would let {"same_country": null} through: the contract wants a boolean or nothing
export const joinBody = {
  type: 'object',
  properties: { same_country: { type: 'boolean', description: 'true or false' } },
  additionalProperties: false,
} as unknown as JSONSchemaType<JoinBody>;

// 1–64 characters after trimming is checked in SQL (api.rename_room); this bounds what reaches it
export const renameBody: JSONSchemaType<RenameBody> = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1, maxLength: 1000, description: '1–64 characters after trimming' } },
  required: ['name'],
};

// 1–32 characters after trimming is checked in SQL (api.react)
export const reactionBody: JSONSchemaType<ReactionBody> = {
  type: 'object',
  properties: { emoji: { type: 'string', minLength: 1, maxLength: 1000, description: '1–32 characters after trimming' } },
  required: ['emoji'],
};

// optional without `nullable`: {"note": null} is refused like any other non-string
export const reportBody = {
  type: 'object',
  properties: {
    reason: { type: 'string', enum: [...REPORT_REASONS], description: `one of ${REPORT_REASONS.join(', ')}` },
    note: { type: 'string', maxLength: 500, description: 'a text of at most 500 characters' },
    include_messages: { type: 'boolean', description: "true or false (true copies the room's last 50 messages into the report)" },
  },
  required: ['reason'],
  additionalProperties: false,
} as unknown as JSONSchemaType<ReportBody>;

export const deleteAccountBody: JSONSchemaType<DeleteAccountBody> = {
  type: 'object',
  properties: { password: { type: 'string', minLength: 1, maxLength: 256, description: "the account's password (1–256 characters)" } },
  required: ['password'],
};

export const changePasswordBody: JSONSchemaType<ChangePasswordBody> = {
  type: 'object',
  properties: {
    old_password: { type: 'string', minLength: 1, maxLength: 256, description: 'the current password (1–256 characters)' },
    new_password: { type: 'string', minLength: 8, maxLength: 256, description: '8–256 characters' },
  },
  required: ['old_password', 'new_password'],
};
