// Issue 13 items 1 to 5: errors that escaped the one shape (414 echoing the path, FST_ERR_BAD_URL,
// Node's parser errors as {"error":"Bad Request","message":"Client Error"} without a code or a
// request id), a body shorter than its Content-Length never timed out, a deeply nested body
// answered 500, a year-0 date answered 500, and text/plain on a JSON route answered 400.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup, signupBody, testApp } from '../helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
let port: number;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database, { requestTimeoutMs: 1000 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => {
  await app.close();
  await database.close();
});

/** Writes raw bytes and reads the whole answer (the server closes), within `boundMs`. */
function raw(
  parts: (string | Buffer)[],
  boundMs = 8000,
): Promise<{ status: number; headers: Record<string, string>; body: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${boundMs} ms`));
    }, boundMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, ms: Date.now() - started });
    });
    for (const p of parts) socket.write(p);
  });
}

function inShape(
  r: { status: number; headers: Record<string, string | string[] | undefined>; body: string },
  code: string,
) {
  const body = JSON.parse(r.body);
  expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
  expect(body).toMatchObject({ statusCode: r.status, code });
  expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
  return body as { message: string };
}

describe('router errors in the one shape', () => {
  it('a path parameter too long is 414 HF_URI_TOO_LONG and does not echo the path', async () => {
    const long = 'p'.repeat(300);
    const r = await app.inject(`/v1/whatsapp/sessions/${long}/credentials/x`);
    expect(r.statusCode).toBe(414);
    const body = inShape(
      { status: r.statusCode, headers: r.headers as Record<string, string>, body: r.body },
      'HF_URI_TOO_LONG',
    );
    expect(body.message).not.toContain(long.slice(0, 20));
  });

  it('a malformed percent-encoding is 400 HF_BAD_URL', async () => {
    const r = await app.inject('/v1/%E0%A4%A');
    expect(r.statusCode).toBe(400);
    expect(
      inShape({ status: r.statusCode, headers: r.headers as Record<string, string>, body: r.body }, 'HF_BAD_URL')
        .message,
    ).not.toContain('%E0');
  });
});

describe("Node's parser errors in the one shape (a real socket)", () => {
  const get = (line: string, extra = '') => [`${line}\r\nhost: x\r\n${extra}\r\n`];
  it.each([
    [
      'a negative Content-Length',
      ['POST /v1/accounts HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n'],
      400,
      'HF_BAD_REQUEST',
    ],
    [
      'a Content-Length that is not a number',
      ['POST /v1/accounts HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n'],
      400,
      'HF_BAD_REQUEST',
    ],
    [
      'Content-Length with Transfer-Encoding',
      ['POST /v1/accounts HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
      400,
      'HF_BAD_REQUEST',
    ],
    [
      'a NUL in the path',
      [Buffer.from('GET /v1/ping\u0000secret HTTP/1.1\r\nhost: x\r\n\r\n', 'latin1')],
      400,
      'HF_BAD_REQUEST',
    ],
    [
      'a control character in a header',
      [Buffer.from('GET /v1/ping HTTP/1.1\r\nhost: x\r\nx-a: se\u0001cret\r\n\r\n', 'latin1')],
      400,
      'HF_BAD_REQUEST',
    ],
    [
      'headers over the size limit',
      get('GET /v1/ping HTTP/1.1', `x-big: ${'b'.repeat(20_000)}\r\n`),
      431,
      'HF_HEADERS_TOO_LARGE',
    ],
  ] as const)('%s', async (_name, parts, status, code) => {
    const r = await raw([...parts]);
    expect(r.status).toBe(status);
    inShape(r, code);
    expect(r.body).not.toMatch(/secret|bbbbbbbb/);
  });
});

describe('timeouts bound a whole request (REQUEST_TIMEOUT_MS=1000 here)', () => {
  it('a body shorter than its Content-Length is answered 408 HF_REQUEST_TIMEOUT', async () => {
    const r = await raw(
      [
        'POST /v1/accounts HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"name":',
      ],
      8000,
    );
    expect(r.status).toBe(408);
    inShape(r, 'HF_REQUEST_TIMEOUT');
    expect(r.ms).toBeLessThan(6000);
  });

  it('headers that never end are answered 408 too', async () => {
    const r = await raw(['GET /v1/ping HTTP/1.1\r\nhost: x\r\nx-slow: 1\r\n'], 8000);
    expect(r.status).toBe(408);
    inShape(r, 'HF_REQUEST_TIMEOUT');
  });
});

describe('bodies and parameters', () => {
  it('a 5,000-level nested credential value is 400 HF_VALIDATION_FAILED, not 500; 64 levels pass', async () => {
    const { apiKey } = await signup(app);
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const deep = `{"value":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const refused = await app.inject({
      method: 'PUT',
      url: '/v1/whatsapp/sessions/s1/credentials/deep',
      headers,
      payload: deep,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({
      code: 'HF_VALIDATION_FAILED',
      message: 'The JSON body nests deeper than 64 levels',
    });
    const ok = `{"value":${'['.repeat(63)}"a\\"[[["${']'.repeat(63)}}`; // brackets inside strings do not count
    expect(
      (await app.inject({ method: 'PUT', url: '/v1/whatsapp/sessions/s1/credentials/ok', headers, payload: ok }))
        .statusCode,
    ).toBe(200);
  });

  it('audit dates outside 1970 to 9999 are 400', async () => {
    for (const from of ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z']) {
      const r = await app.inject({
        url: `/v1/audit/events?from=${from}`,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(r.statusCode, from).toBe(400);
      expect(r.json().code).toBe('HF_VALIDATION_FAILED');
    }
    expect(
      (
        await app.inject({
          url: '/v1/audit/events?from=2026-01-01T00:00:00Z',
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
        })
      ).statusCode,
    ).toBe(200);
  });

  it('text/plain on a JSON route is 415 HF_UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(signupBody()),
    });
    expect(r.statusCode).toBe(415);
    expect(r.json()).toMatchObject({ statusCode: 415, code: 'HF_UNSUPPORTED_MEDIA_TYPE' });
  });
});
