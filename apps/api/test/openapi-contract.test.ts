// Issue 31 item 5: the OpenAPI document is a complete contract. Every operation of /docs/json is
// sent the fuzz's classes of bad request (wrong types in the body, the query and the path, unknown
// and missing fields, a URL or a parameter too long, bad JSON, a wrong content type, a malformed
// percent-encoding, a body or headers over their limits), and every answer must be declared for that
// operation: its status, its media type and, for an error, its `code` in the response schema's
// `code.enum` (what a generated client reads). A status or code the document does not declare fails.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, testApp } from './helpers.js';

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
};
type Parameter = { in: 'path' | 'query' | 'header'; name: string; required?: boolean; schema?: Schema };
type Response = {
  description: string;
  content?: Record<string, { schema?: { properties?: { code?: { enum?: string[] } } } }>;
};
type Operation = {
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, Response>;
};
type Doc = { paths: Record<string, Record<string, Operation>> };

let database: TestDatabase;
let app: FastifyInstance;
let doc: Doc;
let apiKey: string;
let port: number;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
  ({ apiKey } = await signup(app));
  doc = (await app.inject('/docs/json')).json() as Doc;
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const types = (s: Schema | undefined): string[] => (s?.type === undefined ? [] : ([] as string[]).concat(s.type));

/** A value the schema accepts, as far as a test can tell without a generator (a pattern may still refuse it). */
function valid(s: Schema | undefined): unknown {
  if (!s) return 'x';
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const t = types(s).find((x) => x !== 'null') ?? 'string';
  if (t === 'object') return Object.fromEntries((s.required ?? []).map((k) => [k, valid(s.properties?.[k])]));
  if (t === 'array') return [valid(s.items)];
  if (t === 'integer' || t === 'number') return Math.max(1, s.minimum ?? 1);
  if (t === 'boolean') return true;
  if (s.format === 'uuid') return randomUUID();
  if (s.format === 'date') return '1990-04-12';
  if (s.format === 'date-time') return new Date().toISOString();
  if (s.format === 'uri' || /url/i.test(s.pattern ?? '')) return 'https://example.com/hook';
  if (s.pattern?.includes('\\+[1-9]')) return '+254700000001';
  return 'x'.repeat(Math.max(1, s.minLength ?? 1));
}

/** Values of the wrong JSON type for a schema (none of the types it allows). */
function wrongTypes(s: Schema | undefined): unknown[] {
  const allowed = types(s);
  const candidates: [string, unknown][] = [
    ['string', 'true'],
    ['string', '10'],
    ['integer', 10],
    ['number', 1.5],
    ['boolean', true],
    ['boolean', false],
    ['null', null],
    ['object', {}],
    ['array', ['x']],
  ];
  if (allowed.length === 0) return s?.enum || s?.const !== undefined ? [12345, true, null] : [];
  return candidates
    .filter(([t]) => !allowed.includes(t) && !(t === 'integer' && allowed.includes('number')))
    .map(([, v]) => v);
}

/** Query values a schema of this type refuses (a query value is always a string). */
function wrongQuery(s: Schema | undefined): string[] {
  const t = types(s);
  const values = ['', 'x'.repeat(5000), '%00'];
  if (t.includes('integer') || t.includes('number')) values.push('abc', '1.5', '-1', '1e999', '99999999999999999999');
  if (t.includes('boolean')) values.push('maybe', '2');
  if (s?.enum) values.push('not-a-member');
  if (s?.format) values.push('not-a-value', '0000-01-01T00:00:00Z');
  return values;
}

const PARAMS = [
  'x',
  '..',
  '%00',
  '%E0%A4%A',
  '%zz',
  'p'.repeat(300),
  '550e8400-e29b-41d4-a716-446655440000',
  '__proto__',
];

interface Probe {
  label: string;
  path?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  payload?: string | Buffer;
  contentType?: string;
}

/** The bad requests of the fuzz's classes for one operation. */
function probes(op: Operation, method: string): Probe[] {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const goodPath = Object.fromEntries(pathParams.map((p) => [p.name, encodeURIComponent(String(valid(p.schema)))]));
  const goodQuery = new URLSearchParams(
    queryParams.filter((p) => p.required).map((p) => [p.name, String(valid(p.schema))]),
  ).toString();
  const bodySchema = op.requestBody?.content?.['application/json']?.schema;
  const list: Probe[] = [{ label: 'as it is' }];
  // The path: each parameter bad in turn (malformed encoding, too long, NUL, a dot segment...).
  for (const p of pathParams)
    for (const v of PARAMS)
      list.push({ label: `path ${p.name}=${v.slice(0, 20)}`, path: { ...goodPath, [p.name]: v } });
  // The query: each parameter with values of the wrong type or out of its range, repeated, unknown ones, and a URL far too long.
  for (const p of queryParams) {
    for (const v of wrongQuery(p.schema))
      list.push({
        label: `query ${p.name}=${v.slice(0, 20)}`,
        query: `${goodQuery}&${encodeURIComponent(p.name)}=${v === '%00' ? v : encodeURIComponent(v)}`,
      });
    list.push({
      label: `query ${p.name} twice`,
      query: `${goodQuery}&${p.name}=${encodeURIComponent(String(valid(p.schema)))}&${p.name}=${encodeURIComponent(String(valid(p.schema)))}`,
    });
  }
  list.push({ label: 'an unknown query parameter', query: `${goodQuery}&unknownField=1` });
  list.push({ label: 'a malformed percent-encoding in the query', query: `${goodQuery}&a=%E0%A4%A` });
  list.push({ label: 'an oversized query', query: `${goodQuery}&q=${'q'.repeat(20_000)}` });
  for (const p of params.filter((x) => x.in === 'header'))
    list.push({ label: `header ${p.name}`, headers: { [p.name]: 'x'.repeat(400) } });
  // The body, whatever the method: JSON of wrong types, unknown and missing fields, bad JSON, other media types, too large.
  const json = (label: string, value: unknown) =>
    list.push({ label, payload: JSON.stringify(value), contentType: 'application/json' });
  if (bodySchema) {
    const good = valid(bodySchema) as Record<string, unknown> | null;
    for (const [name, s] of Object.entries(bodySchema.properties ?? {})) {
      for (const v of wrongTypes(s)) json(`body ${name}=${JSON.stringify(v)}`, { ...(good ?? {}), [name]: v });
      if (!good || typeof good !== 'object') continue;
      const { [name]: _dropped, ...without } = good;
      if (bodySchema.required?.includes(name)) json(`body without ${name}`, without);
    }
    json('an unknown body field', { ...(good ?? {}), unknownField: 1 });
    json('an empty object', {});
  }
  for (const v of ['x', 1, true, null, [], [{}]]) json(`body ${JSON.stringify(v)}`, v);
  list.push({ label: 'bad JSON', payload: '{"a":', contentType: 'application/json' });
  list.push({ label: 'empty JSON', payload: '', contentType: 'application/json' });
  list.push({
    label: 'JSON nested too deep',
    payload: `${'['.repeat(200)}${']'.repeat(200)}`,
    contentType: 'application/json',
  });
  list.push({ label: 'a prototype-poisoning body', payload: '{"__proto__":{"x":1}}', contentType: 'application/json' });
  for (const type of [
    'text/plain',
    'application/xml',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
  ])
    list.push({ label: `content-type ${type}`, payload: 'a=1', contentType: type });
  list.push({
    label: 'a body over the limit',
    payload: Buffer.alloc(1024 * 1024 + 10, 0x20),
    contentType: 'application/json',
  });
  // GET and DELETE are sent the bodies too: a client may send one.
  void method;
  return list;
}

/** What the operation declares for this answer, or why it does not. */
function undeclared(
  op: Operation,
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
): string | null {
  const declared = op.responses[String(res.statusCode)];
  if (!declared) return `status ${res.statusCode} is not declared`;
  const type = String(res.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  if (!res.body) return null;
  if (!declared.content?.[type])
    return `${res.statusCode} ${type} is not declared (declared: ${Object.keys(declared.content ?? {}).join(', ') || 'no body'})`;
  if (type !== 'application/json' || res.statusCode < 400) return null;
  // An error in the one shape names its code; a route's own body for a status (/health's 503) has none.
  const code = (JSON.parse(res.body) as { code?: unknown } | null)?.code;
  if (code === undefined) return null;
  const codes = declared.content[type]!.schema?.properties?.code?.enum;
  if (!codes) return `${res.statusCode} declares no codes (code.enum), answered ${String(code)}`;
  return codes.includes(code as string)
    ? null
    : `${res.statusCode} ${String(code)} is not declared (declared: ${codes.join(', ')})`;
}

function url(template: string, probe: Probe, op: Operation): string {
  const path = template.replace(
    /\{([^}]+)\}/g,
    (_m, name: string) =>
      probe.path?.[name] ?? encodeURIComponent(String(valid(op.parameters?.find((p) => p.name === name)?.schema))),
  );
  const required = new URLSearchParams(
    (op.parameters ?? []).filter((p) => p.in === 'query' && p.required).map((p) => [p.name, String(valid(p.schema))]),
  ).toString();
  const query = probe.query ?? required;
  return query ? `${path}?${query}` : path;
}

/** Writes raw bytes to the listening app and reads the whole answer. */
function raw(request: string): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ statusCode: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.end(request);
  });
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );

describe('every answer of every operation is declared in /docs/json', () => {
  it('for the fuzz’s classes of bad request', async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(40);
    const problems: string[] = [];
    let sent = 0;
    for (const { path, method, op } of ops) {
      // The credential the operation takes: the account's key, or the admin's where that one is refused.
      const probeAuth = async (authorization: string) =>
        (
          await app.inject({
            method: method as InjectOptions['method'],
            url: url(path, { label: '' }, op),
            headers: { authorization },
          })
        ).json() as { code?: string };
      const admin =
        op.security?.length !== 0 &&
        (await probeAuth(`Bearer ${apiKey}`).catch(() => ({}) as { code?: string })).code === 'HF_AUTH_FORBIDDEN';
      const authorization = op.security?.length === 0 ? undefined : `Bearer ${admin ? ADMIN_KEY : apiKey}`;
      for (const probe of probes(op, method)) {
        const headers: Record<string, string> = {
          ...(authorization ? { authorization } : {}),
          ...(probe.contentType ? { 'content-type': probe.contentType } : {}),
          ...probe.headers,
        };
        const res: LightMyRequestResponse = await app.inject({
          method: method as InjectOptions['method'],
          url: url(path, probe, op),
          headers,
          ...(probe.payload !== undefined ? { payload: probe.payload } : {}),
        });
        sent++;
        const problem = undeclared(op, res);
        if (problem) problems.push(`${method} ${path} (${probe.label}): ${problem}`);
      }
    }
    expect(sent).toBeGreaterThan(1000);
    expect([...new Set(problems)]).toEqual([]);
  }, 600_000); // a hang guard, not a measurement

  it('for answers written before routing: headers or a request line over the limit, bytes that are not HTTP', async () => {
    const problems: string[] = [];
    for (const { path, method, op } of operations()) {
      const target = path.replace(/\{[^}]+\}/g, 'x');
      const cases = {
        'headers over the limit': `${method} ${target} HTTP/1.1\r\nhost: x\r\nx-big: ${'b'.repeat(20_000)}\r\n\r\n`,
        'a request line over the limit': `${method} ${target}?q=${'q'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`,
        'a control character in a header': `${method} ${target} HTTP/1.1\r\nhost: x\r\nx-a: a\u0001b\r\n\r\n`,
      };
      for (const [label, request] of Object.entries(cases)) {
        const res = await raw(request);
        expect(res.statusCode, `${method} ${path} ${label}`).toBeGreaterThanOrEqual(400);
        const problem = undeclared(op, res);
        if (problem) problems.push(`${method} ${path} (${label}): ${problem}`);
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  }, 600_000); // a hang guard, not a measurement
});
