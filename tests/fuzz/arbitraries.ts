import fc from 'fast-check';

/**
 * What the fuzz tests generate: text and values a hostile client might send, weighted towards
 * what reaches deep into the gateway (values of the right shape with wrong contents) rather
 * than what the JSON parser alone refuses.
 */

/** How many runs each property makes: FUZZ_RUNS (set by `npm run test:fuzz -- --runs N`), else a CI-sized count. */
export function fuzzRuns(ciDefault: number): number {
  const runs = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : ciDefault;
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Any text: ASCII, any code point, lone surrogates, NUL and control characters. */
export const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.oneof(loneSurrogate, fc.constantFrom('\u0000', '\u0001', '\n', '\u00a0', '\u200b', '"', '\\', '%', '/')) }),
  fc.constantFrom('', ' ', '\t\n', 'null', 'undefined', '__proto__', 'constructor', '0', '-1', '1e309', 'NaN'),
);

/** A plausible id: the right shape, a near miss, or anything. */
export const idLike = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid().map((u) => `urn:uuid:${u}`),
  fc.uuid().map((u) => u.slice(0, -1)),
  fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'probe'),
  hostileString,
);

/** A value of any JSON type. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  hostileString,
  fc.constantFrom(0, -0, 1e308, -1, 2 ** 53 + 1, true, false, null),
);

/**
 * JSON nested up to 4,000 levels, as text: such values are built by the server's parser only
 * (JSON.stringify here would overflow the stack under fast-check's own frames).
 */
export const deepJsonText = fc
  .record({
    depth: fc.integer({ min: 1, max: 4000 }), // under 64 KiB, the frame limit
    open: fc.constantFrom('[', '{"a":', '[{"content":', '{"type":'),
    inner: fc.constantFrom('1', '"x"', '"\\u0000"', '"\\ud800"', ''),
  })
  .map(({ depth, open, inner }) => open.repeat(depth) + inner + (open === '[' ? ']' : open === '[{"content":' ? '}]' : '}').repeat(depth));

/** An object with the field names the routes and frames read, each with any value. */
const KNOWN_FIELDS = [
  'pseudo',
  'email',
  'country',
  'password',
  'identifier',
  'same_country',
  'name',
  'emoji',
  'type',
  'content',
  'client_id',
  'id',
];
export const shapedObject = fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_FIELDS), hostileString), anyJson, { maxKeys: 6 });

/** A request body as text: JSON of any value or of a shaped object, or text that is not JSON. */
export const bodyText = fc.oneof(
  { weight: 3, arbitrary: shapedObject.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: anyJson.map((v) => JSON.stringify(v) ?? '') },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: deepJsonText },
  { weight: 1, arbitrary: fc.constant('') },
);

/** A header value fetch can send (printable ASCII: raw-socket tests cover control bytes). */
export const headerValue = fc.string({ unit: 'binary-ascii' }).map((s) => s.replace(/[^\x20-\x7e\t]/g, '').trim());
