import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { registerUser, request, uniqueName } from '../support/client.js';
import { startTestServer, TEST_JWT_SECRET, type TestServer } from '../support/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

describe('POST /auth/register', () => {
  test('creates a user, returns a token and never the password', async () => {
    const pseudo = uniqueName('Ab.');
    const res = await request(server.url, 'POST', '/auth/register', {
      body: { pseudo: `  ${pseudo} `, email: `${pseudo.toUpperCase()}@Example.COM`, country: 'fr', password: 'long enough' },
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(res.body.user.pseudo, pseudo);
    assert.equal(res.body.user.email, `${pseudo.toLowerCase()}@example.com`);
    assert.equal(res.body.user.country, 'FR');
    assert.deepEqual(Object.keys(res.body.user).sort(), ['country', 'created_at', 'email', 'id', 'pseudo']);
    assert.match(res.body.user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof res.body.token, 'string');
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['pseudo too short', { pseudo: ' a ' }, 'pseudo'],
    ['pseudo too long', { pseudo: 'x'.repeat(33) }, 'pseudo'],
    ['pseudo with @', { pseudo: 'a@b' }, 'pseudo'],
    ['pseudo with space', { pseudo: 'a b' }, 'pseudo'],
    ['email invalid', { email: 'not-an-email' }, 'email'],
    ['country unknown', { country: 'ZZ' }, 'country'],
    ['country not two letters', { country: 'FRA' }, 'country'],
    ['password too short', { password: 'short' }, 'password'],
    ['password too long', { password: 'x'.repeat(257) }, 'password'],
    ['password missing', { password: undefined }, 'password'],
    ['pseudo not a string', { pseudo: 42 }, 'pseudo'],
  ];
  for (const [name, change, field] of invalid) {
    test(`400 invalid_request naming the field: ${name}`, async () => {
      const pseudo = uniqueName();
      const body = { pseudo, email: `${pseudo}@example.com`, country: 'FR', password: 'long enough', ...change };
      const res = await request(server.url, 'POST', '/auth/register', { body });
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid_request');
      assert.ok(
        res.body.details.some((d: { field: string }) => d.field === field),
        JSON.stringify(res.body),
      );
    });
  }

  // the original web client shows `error` as it is: it must say what to fix (docs/api.md lists these)
  const explained: Array<[string, Record<string, unknown>, string]> = [
    ['6-character password', { password: 'secret' }, 'password must be 8–256 characters'],
    ['pseudo with a space', { pseudo: 'a b' }, 'pseudo must be 2–32 characters: letters, digits, _ . -'],
    ['email invalid', { email: 'not-an-email' }, 'email must be a valid email address (at most 254 characters)'],
    ['country of three letters', { country: 'FRA' }, 'country must be an ISO 3166-1 alpha-2 country code, e.g. FR'],
    ['unknown country (checked in SQL)', { country: 'ZZ' }, 'country must be an ISO 3166-1 alpha-2 country code'],
    ['password missing', { password: undefined }, 'password is required'],
    [
      'two problems',
      { pseudo: 'x', password: 'short' },
      'pseudo must be 2–32 characters: letters, digits, _ . -; password must be 8–256 characters',
    ],
  ];
  for (const [name, change, error] of explained) {
    test(`400 error string names the problem: ${name}`, async () => {
      const pseudo = uniqueName();
      const body = { pseudo, email: `${pseudo}@example.com`, country: 'FR', password: 'long enough', ...change };
      const res = await request(server.url, 'POST', '/auth/register', { body });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, error);
      assert.equal(res.body.code, 'invalid_request');
      assert.deepEqual(res.body.details.map((d: { field: string; message: string }) => `${d.field} ${d.message}`).join('; '), error);
    });
  }

  test('400 for a body that is not a JSON object says so', async () => {
    const res = await request(server.url, 'POST', '/auth/register', { body: [1] });
    assert.deepEqual(res.body, {
      error: 'body must be a JSON object',
      code: 'invalid_request',
      details: [{ field: 'body', message: 'must be a JSON object' }],
    });
  });

  test('409 for a taken pseudo or email, in any case', async () => {
    const user = await registerUser(server.url);
    for (const body of [
      { pseudo: user.pseudo.toUpperCase(), email: `${uniqueName()}@example.com` },
      { pseudo: uniqueName(), email: user.email.toUpperCase() },
    ]) {
      const res = await request(server.url, 'POST', '/auth/register', { body: { ...body, country: 'FR', password: 'long enough' } });
      assert.equal(res.status, 409);
      assert.deepEqual(res.body, { error: 'pseudo or email already taken', code: 'already_taken' });
    }
  });

  test('400, never a 500, for strings PostgreSQL cannot store (NUL, unpaired surrogate)', async () => {
    for (const rawBody of ['{"pseudo":"a\\u0000b"}', '{"identifier":"x","password":"\\ud800 long enough"}']) {
      for (const path of ['/auth/register', '/auth/login']) {
        const res = await request(server.url, 'POST', path, { rawBody, headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 400, `${path} ${rawBody}`);
        assert.equal(res.body.code, 'invalid_request');
      }
    }
  });

  test('400 for a body that is not JSON, 413 for one over 64 KiB', async () => {
    const notJson = await request(server.url, 'POST', '/auth/register', {
      rawBody: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.code, 'invalid_json');
    const huge = await request(server.url, 'POST', '/auth/register', { body: { pseudo: 'x'.repeat(70_000) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.code, 'payload_too_large');
  });
});

describe('POST /auth/login', () => {
  test('by email or pseudo, case-insensitively', async () => {
    const user = await registerUser(server.url);
    for (const identifier of [user.email.toUpperCase(), user.pseudo.toUpperCase(), ` ${user.pseudo} `]) {
      const res = await request(server.url, 'POST', '/auth/login', { body: { identifier, password: user.password } });
      assert.equal(res.status, 200, identifier);
      assert.equal(res.body.user.id, user.id);
      const me = await request(server.url, 'GET', '/rooms/me', { token: res.body.token });
      assert.equal(me.status, 200);
    }
  });

  test('unknown user and wrong password: the same 401 in about the same time', async () => {
    const user = await registerUser(server.url);
    const time = async (identifier: string) => {
      const started = performance.now();
      const res = await request(server.url, 'POST', '/auth/login', { body: { identifier, password: 'wrong password' } });
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { error: 'invalid credentials', code: 'invalid_credentials' });
      return performance.now() - started;
    };
    const unknown = [await time(uniqueName()), await time(uniqueName()), await time(uniqueName())].sort((x, y) => x - y)[1]!;
    const wrong = await time(user.pseudo);
    // both pay one argon2id verification: an unknown user must not answer much faster
    assert.ok(unknown > wrong / 3, `unknown user answered in ${unknown} ms, wrong password in ${wrong} ms`);
  });

  test('repeated failures are rate limited with 429 and Retry-After, even with the right password', async () => {
    const user = await registerUser(server.url);
    for (let i = 0; i < 5; i++) {
      const res = await request(server.url, 'POST', '/auth/login', { body: { identifier: user.pseudo, password: 'wrong password' } });
      assert.equal(res.status, 401);
    }
    const blocked = await request(server.url, 'POST', '/auth/login', { body: { identifier: user.email, password: user.password } });
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'rate_limited');
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  });

  test('parallel guesses cannot slip past the limit while their hashes are checked', async () => {
    const user = await registerUser(server.url);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () =>
        request(server.url, 'POST', '/auth/login', { body: { identifier: user.pseudo, password: 'wrong password' } }).then(
          (res) => res.status,
        ),
      ),
    );
    assert.equal(statuses.filter((s) => s === 401).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 25);
  });

  test('400 for a missing field, naming it', async () => {
    const res = await request(server.url, 'POST', '/auth/login', { body: { identifier: 'someone' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'invalid_request');
    assert.equal(res.body.error, 'password is required');
  });
});

describe('bearer tokens', () => {
  const secret = new TextEncoder().encode(TEST_JWT_SECRET);
  const claims = (sub: string) =>
    new SignJWT({}).setSubject(sub).setIssuer('ephemeral-chat').setAudience('ephemeral-chat-clients').setIssuedAt();

  test('401 missing authorization without a token', async () => {
    const res = await request(server.url, 'GET', '/rooms/me');
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { error: 'missing authorization', code: 'missing_authorization' });
  });

  test('401 for tampered, alg:none, expired, foreign-algorithm and foreign-audience tokens', async () => {
    const user = await registerUser(server.url);
    const [header, payload, signature] = user.token.split('.');
    const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    forged.sub = '00000000-0000-0000-0000-000000000000';
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const tokens = {
      tampered: `${header}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${signature}`,
      badSignature: `${header}.${payload}.${signature!.slice(0, -4)}AAAA`,
      none,
      expired: await claims(user.id)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
        .setProtectedHeader({ alg: 'HS256' })
        .sign(secret),
      hs512: await claims(user.id).setExpirationTime('1h').setProtectedHeader({ alg: 'HS512' }).sign(secret),
      otherAudience: await new SignJWT({})
        .setSubject(user.id)
        .setIssuer('ephemeral-chat')
        .setAudience('someone-else')
        .setExpirationTime('1h')
        .setProtectedHeader({ alg: 'HS256' })
        .sign(secret),
      otherSecret: await claims(user.id)
        .setExpirationTime('1h')
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('another-secret-that-is-long-enough-000000')),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const res = await request(server.url, 'GET', '/rooms/me', { token });
      assert.equal(res.status, 401, name);
      assert.deepEqual(res.body, { error: 'invalid or expired token', code: 'invalid_token' }, name);
    }
  });
});

test('GET /health answers ok; unknown routes are JSON 404s', async () => {
  const health = await request(server.url, 'GET', '/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.body, { status: 'ok' });
  const missing = await request(server.url, 'GET', '/no/such/route');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'route_not_found');
});
