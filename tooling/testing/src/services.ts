/**
 * Which real services the tests may use. With REQUIRE_SERVICES=1 (set by .ci/run) a missing
 * service is an error at import time, so the test file fails instead of skipping quietly.
 */
export const requireServices = process.env.REQUIRE_SERVICES === '1';

function serviceUrl(variable: 'TEST_DATABASE_URL' | 'REDIS_URL'): string | undefined {
  const value = process.env[variable]?.trim();
  if (value) return value;
  if (requireServices) throw new Error(`REQUIRE_SERVICES=1 but ${variable} is not set`);
  return undefined;
}

/** Real Postgres for tests that need it (concurrency, locks): undefined means skip. */
export const postgresUrl: string | undefined = serviceUrl('TEST_DATABASE_URL');

/** Redis for tests that need it: undefined means skip. */
export const redisUrl: string | undefined = serviceUrl('REDIS_URL');
