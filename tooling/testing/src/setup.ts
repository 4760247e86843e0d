// Loaded before every test file (vitest setupFiles): a Fastify deprecation warning fails the test
// that caused it (issue 19 item 1: the tests print none), so a deprecated option cannot creep back.
import { afterEach, expect } from 'vitest';

const deprecations: string[] = [];
process.on('warning', (warning) => {
  const code = (warning as Error & { code?: string }).code ?? '';
  if (warning.name === 'FastifyDeprecation' || code.startsWith('FSTDEP')) deprecations.push(`${code}: ${warning.message}`);
});

afterEach(() => {
  const seen = deprecations.splice(0);
  expect(seen, 'Fastify deprecation warnings').toEqual([]);
});
