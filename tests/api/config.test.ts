import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

/**
 * Configuration is checked before anything starts: every wrong variable is one line (name,
 * value, what is expected), all of them at once, and the process exits 1.
 */
function startServer(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // a clean environment: nothing of the test runner's (DATABASE_URL, LOG_LEVEL…) leaks in
    const child = spawn(process.execPath, ['dist/src/server.js'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not exit within 20 s:\n${stdout}${stderr}`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('a server with wrong variables names each of them on one line, then exits 1', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'config-test-'));
  try {
    const shortSecret = 'too-short-secret';
    const { code, stdout, stderr } = await startServer({
      DATA_DIR: dataDir,
      PORT: 'eighty',
      ROOM_TTL: '10 minutes',
      NODE_ENV: 'prod',
      JWT_SECRET: shortSecret,
      DATABASE_URL: 'mysql://chat:hunter2-password@db/chat',
      GATEWAY_DATABASE_URL: 'authenticator:hunter3-password',
      SEND_LANES: '0',
      CORS_ORIGINS: 'https://chat.example.com,https://app.example.com/',
      LOG_LEVEL: 'verbose',
      LOG_REQUESTS: 'yes',
      METRICS_PORT: '99999',
    });
    assert.equal(code, 1);
    assert.equal(stdout, '', 'nothing started, nothing logged');
    const lines = stderr.trim().split('\n');
    const expected: Array<[string, RegExp]> = [
      ['NODE_ENV', /^configuration error: NODE_ENV="prod": expected one of development, production, test$/],
      ['DATABASE_URL', /^configuration error: DATABASE_URL="mysql:\/\/chat:\*\*\*@db\/chat": expected a URL such as postgres:/],
      [
        'GATEWAY_DATABASE_URL',
        /^configuration error: GATEWAY_DATABASE_URL=\(not a URL with a host, value hidden\): expected a URL such as postgres:/,
      ],
      ['JWT_SECRET', /^configuration error: JWT_SECRET=\(16 bytes, value hidden\): expected at least 32 bytes/],
      ['PORT', /^configuration error: PORT="eighty": expected an integer from 0 to 65535$/],
      ['ROOM_TTL', /^configuration error: ROOM_TTL="10 minutes": expected a duration of at least 1 s/],
      ['CORS_ORIGINS', /^configuration error: CORS_ORIGINS="https:\/\/app\.example\.com\/": expected comma-separated origins/],
      ['SEND_LANES', /^configuration error: SEND_LANES="0": expected an integer from 1 to 64$/],
      ['LOG_LEVEL', /^configuration error: LOG_LEVEL="verbose": expected one of debug, info, warn, error, silent$/],
      ['LOG_REQUESTS', /^configuration error: LOG_REQUESTS="yes": expected one of 0, 1, false, true$/],
      ['METRICS_PORT', /^configuration error: METRICS_PORT="99999": expected an integer from 1 to 65535$/],
    ];
    assert.equal(lines.length, expected.length, stderr);
    for (const [name, pattern] of expected) {
      assert.ok(
        lines.some((line) => pattern.test(line)),
        `${name}: no line matching ${pattern} in\n${stderr}`,
      );
    }
    assert.ok(!/hunter[23]/.test(stderr) && !stderr.includes(shortSecret), 'secrets are never shown');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('production without a database or a secret is refused, both at once', async () => {
  await assert.rejects(loadConfig({ NODE_ENV: 'production' }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((p) => p.split('=')[0]),
      ['DATABASE_URL', 'JWT_SECRET'],
    );
    return true;
  });
});

test('valid variables are read as given', async () => {
  const config = await loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://gateway:pw@db.internal:5432/chat',
    JWT_SECRET: 'x'.repeat(32),
    PORT: '9000',
    METRICS_PORT: '9100',
    ROOM_TTL: '90s',
    CORS_ORIGINS: 'https://chat.example.com, http://localhost:5173',
    LOG_LEVEL: 'warn',
    LOG_REQUESTS: 'true',
    TRUST_PROXY: '1',
  });
  assert.deepEqual(
    [
      config.port,
      config.metricsPort,
      config.roomTtlMs,
      config.corsOrigins,
      config.logLevel,
      config.logRequests,
      config.trustProxy,
      config.production,
    ],
    [9000, 9100, 90_000, ['https://chat.example.com', 'http://localhost:5173'], 'warn', true, 1, true],
  );
  await assert.rejects(
    loadConfig({ DATA_DIR: os.tmpdir(), PORT: '9000', METRICS_PORT: '9000' }),
    /METRICS_PORT="9000": expected a port other than PORT/,
  );
});
