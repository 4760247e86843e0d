// Issue 19 item 6: the OpenAPI document is the API's whole contract. It validates as OpenAPI 3.1
// (swagger-parser), every route of the app is in it, every operation declares its authentication
// and its error responses in the one error shape, and the errors the app really answers are the
// ones the document declares for that operation and status.
import SwaggerParser from '@apidevtools/swagger-parser';
import swagger from '@fastify/swagger';
import { documentedRoutes, documentErrors } from '@harakaflow/api';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResponsesAgainstDocument, openapiPath, takeViolations } from './contract.js';
import { ADMIN_KEY, signup, signupBody, testApp } from './helpers.js';

type Operation = {
  security?: unknown[];
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema: { properties?: { code?: { enum?: string[] } } } }> }
  >;
};
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

let database: TestDatabase;
let app: FastifyInstance;
let doc: Doc;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
  doc = (await app.inject('/docs/json')).json() as Doc;
});
afterAll(async () => {
  await app.close();
  await database.close();
});

const operation = (method: string, url: string) => doc.paths[openapiPath(url)]?.[method.toLowerCase()];

/** The codes the document declares for this operation and status. */
function declared(method: string, url: string, status: number): string[] {
  const response = operation(method, url)?.responses[String(status)];
  return response?.content?.['application/json']?.schema.properties?.code?.enum ?? [];
}

/** An error answered by the app is in the document: its status, its code, the one shape. */
function conforms(method: string, url: string, response: LightMyRequestResponse) {
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({
    statusCode: response.statusCode,
    code: expect.stringMatching(/^HF_/),
    error: expect.any(String),
    message: expect.any(String),
  });
  expect(
    declared(method, url, response.statusCode),
    `${method} ${url} ${response.statusCode} declares ${String(body.code)}`,
  ).toContain(body.code);
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('has every route of the app, each with its authentication and its error responses', () => {
    const routes = documentedRoutes(app).filter((r) => !r.hidden);
    expect(routes.length).toBeGreaterThan(20);
    for (const { method, url } of routes) {
      const op = operation(method, url);
      expect(op, `${method} ${url} is in the document`).toBeDefined();
      expect(Array.isArray(op!.security), `${method} ${url} declares its security`).toBe(true);
      // Error responses in the one shape, with their codes (a route's own 503, such as /health's, aside).
      const errors = Object.entries(op!.responses).filter(
        ([status, r]) => Number(status) >= 400 && /HF_[A-Z_]+/.test(r.description),
      );
      expect(
        errors.map(([status]) => status),
        `${method} ${url} documents its error responses`,
      ).toEqual(expect.arrayContaining(['400', '408']));
    }
    // Public routes need nothing; admin routes need the bearer key.
    expect(operation('GET', '/health')!.security).toEqual([]);
    expect(operation('GET', '/v1/me')!.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
  });

  it('declares the errors the app answers', async () => {
    const me = await app.inject({ url: '/v1/me' });
    expect(me.statusCode).toBe(401);
    conforms('GET', '/v1/me', me);
    const bad = await app.inject({ method: 'POST', url: '/v1/accounts', payload: { name: 'x' } });
    expect(bad.statusCode).toBe(400);
    conforms('POST', '/v1/accounts', bad);
    const { apiKey, account } = await signup(app);
    const taken = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: signupBody({ email: account.email }),
      remoteAddress: '198.51.100.40',
    });
    expect(taken.statusCode).toBe(409);
    conforms('POST', '/v1/accounts', taken);
    const minor = await app.inject({
      method: 'POST',
      url: '/v1/accounts',
      payload: signupBody({ dateOfBirth: `${new Date().getUTCFullYear() - 10}-01-01` }),
      remoteAddress: '198.51.100.41',
    });
    expect(minor.statusCode).toBe(403);
    conforms('POST', '/v1/accounts', minor);
    const badKey = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'bad key with spaces\u0001' },
      payload: {},
    });
    expect(badKey.statusCode).toBe(400);
    conforms('POST', '/v1/messages', badKey);
    const admin = documentedRoutes(app).find((r) => r.url.startsWith('/v1/admin') && r.method === 'GET');
    expect(admin).toBeDefined();
    const forbidden = await app.inject({
      url: admin!.url.replace(/:[A-Za-z0-9_]+/g, 'x'),
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(forbidden.statusCode).toBe(403);
    conforms('GET', admin!.url, forbidden);
    const wrongKey = await app.inject({
      url: '/v1/me',
      headers: { authorization: `Bearer hf_live_${'x'.repeat(40)}` },
    });
    expect(wrongKey.statusCode).toBe(401);
    conforms('GET', '/v1/me', wrongKey);
    expect(
      (await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).statusCode,
    ).toBeLessThan(500);
  });
});

describe('the check every app test runs under', () => {
  it('catches a status or an error code the document does not declare, and passes what it does', async () => {
    const instance = Fastify({ logger: false });
    await instance.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'contract', version: '1' } } });
    documentErrors(instance);
    instance.get<{ Querystring: { answer?: string } }>(
      '/thing',
      {
        config: { auth: 'public', quota: false },
        schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } },
      },
      async (request, reply) => {
        if (request.query.answer === 'conflict')
          return reply.code(409).send({ statusCode: 409, code: 'HF_THING_BUSY', error: 'Conflict', message: 'busy' });
        if (request.query.answer === 'invalid')
          return reply.code(400).send({ statusCode: 400, code: 'HF_THING_ODD', error: 'Bad Request', message: 'odd' });
        return { ok: true };
      },
    );
    checkResponsesAgainstDocument(instance);
    await instance.ready();
    try {
      expect((await instance.inject('/thing')).statusCode).toBe(200);
      expect(takeViolations()).toEqual([]);
      await instance.inject('/thing?answer=conflict');
      expect(takeViolations()).toEqual(['GET /thing 409: the document declares no 409 response']);
      await instance.inject('/thing?answer=invalid');
      expect(takeViolations()).toEqual([
        expect.stringMatching(/^GET \/thing 400 HF_THING_ODD: data\/code must be equal to one of the allowed values/),
      ]);
    } finally {
      await instance.close();
    }
  });
});
