// Loaded before every test file (vitest setupFiles): a Fastify deprecation warning fails the test
// that caused it (issue 19 item 1: the tests print none), so a deprecated option cannot creep back.
import { afterEach, expect } from 'vitest';

// One list and one listener per process: a worker that runs several files without isolation runs this file before each.
const shared = globalThis as { [key: symbol]: string[] | undefined };
const key = Symbol.for('harakaflow.testing.deprecations');
const deprecations: string[] = (shared[key] ??= (() => {
  const list: string[] = [];
  process.on('warning', (warning) => {
    const code = (warning as Error & { code?: string }).code ?? '';
    if (warning.name === 'FastifyDeprecation' || code.startsWith('FSTDEP')) list.push(`${code}: ${warning.message}`);
  });
  return list;
})());

afterEach(() => {
  const seen = deprecations.splice(0);
  expect(seen, 'Fastify deprecation warnings').toEqual([]);
});
