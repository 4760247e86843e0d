// Issue 13, done when: random bodies, headers, paths and query strings sent to every route of the
// app never get a 5xx, every refusal is in the one shape with an HF_ code, and the process lives.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, testApp } from './helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let apiKey: string;
let routes: { method: string; path: string }[];

beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
  ({ apiKey } = await signup(app));
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
  );
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const segment = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom(
    '..',
    '%00',
    '%E0%A4%A',
    '%2F',
    'a'.repeat(150),
    '__proto__',
    'constructor',
    '+254700000000',
    '550e8400-e29b-41d4-a716-446655440000',
    'webhook-endpoints',
  ),
);
const headerValue = fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s));
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '',
    '{',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{}}}',
    `{"value":${'['.repeat(100)}${']'.repeat(100)}}`,
    '{"a":"\\u0000"}',
    'null',
    '[]',
  ),
  fc
    .record(
      {
        name: fc.string(),
        email: fc.string(),
        dateOfBirth: fc.string(),
        url: fc.webUrl(),
        events: fc.array(fc.string()),
        to: fc.string(),
        text: fc.string(),
        sessionId: fc.string(),
        value: fc.jsonValue(),
        analytics: fc.anything(),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const request = fc.record({
  route: fc.nat(),
  params: fc.array(segment, { minLength: 4, maxLength: 4 }),
  randomPath: fc.option(
    fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`),
    { freq: 5 },
  ),
  query: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 }), { maxKeys: 4 }),
  auth: fc.constantFrom('none', 'account', 'admin', 'garbage'),
  contentType: fc.constantFrom(
    undefined,
    'application/json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'multipart/form-data; boundary=x',
    'APPLICATION/JSON',
  ),
  headers: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,10}$/), headerValue, { maxKeys: 3 }),
  body: fc.option(body, { freq: 4 }),
});

describe('fuzzing every route', () => {
  it('never answers 5xx, and every refusal is in the one shape with an HF_ code', async () => {
    expect(routes.length).toBeGreaterThan(15);
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const route = routes[r.route % routes.length]!;
        let i = 0;
        const path = r.randomPath ?? route.path.replace(/\{[^}]+\}/g, () => r.params[i++ % 4]!);
        const query = new URLSearchParams(r.query).toString();
        const headers: Record<string, string> = { ...r.headers };
        if (r.auth === 'account') headers.authorization = `Bearer ${apiKey}`;
        if (r.auth === 'admin') headers.authorization = `Bearer ${ADMIN_KEY}`;
        if (r.auth === 'garbage') headers.authorization = 'Bearer \x7e\x21garbage';
        if (r.contentType) headers['content-type'] = r.contentType;
        const method = route.method as 'GET' | 'POST' | 'PUT' | 'DELETE';
        const response = await app.inject({
          method,
          url: `${path}${query ? `?${query}` : ''}`,
          headers,
          ...(r.body !== null && method !== 'GET' ? { payload: r.body } : {}),
        });
        const where = `${method} ${path} -> ${response.statusCode} ${response.body.slice(0, 200)}`;
        expect(response.statusCode, where).toBeLessThan(500);
        if (response.statusCode >= 400) {
          const json = response.json() as Record<string, unknown>;
          expect(json.statusCode, where).toBe(response.statusCode);
          expect(json.code, where).toMatch(/^HF_[A-Z0-9_]+$/);
          expect(typeof json.error === 'string' && typeof json.message === 'string', where).toBe(true);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 600) },
    );
    expect((await app.inject('/health/live')).statusCode).toBe(200); // alive
  }, 600_000); // a hang guard, not a measurement
});
