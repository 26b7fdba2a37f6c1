/** The JWT secret of every test server (in-process and spawned); the gateway's DB password derives from it. */
export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!!';
