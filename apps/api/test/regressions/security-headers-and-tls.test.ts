// Issue 12 item 9 (§3 "encryption of data in transit"): no response carried HSTS,
// X-Content-Type-Options, a frame policy or Cache-Control: no-store, including those carrying an
// API key, a credential value or a whsec_ secret; there was no way to serve TLS in the app.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, ConfigError, loadConfig } from '../../src/index.js';
import { ADMIN_KEY, signup, signupBody, testApp, testConfig } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const setCookies = (headers: Record<string, unknown>) => [headers['set-cookie'] ?? []].flat().map(String);

describe('security headers', () => {
  it('every response carries the API profile, and no-store', async () => {
    const { app } = await testApp(database);
    try {
      const { apiKey } = await signup(app);
      const responses = [
        await app.inject('/v1/ping'),
        await app.inject({ method: 'POST', url: '/v1/accounts', payload: signupBody() }),
        await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${apiKey}` } }),
        await app.inject({
          method: 'PUT',
          url: '/v1/whatsapp/sessions/s1/credentials/creds',
          headers: { authorization: `Bearer ${apiKey}` },
          payload: { value: { k: 1 } },
        }),
        await app.inject({
          url: '/v1/whatsapp/sessions/s1/credentials/creds',
          headers: { authorization: `Bearer ${apiKey}` },
        }),
        await app.inject({ url: '/v1/usage', headers: { authorization: `Bearer ${apiKey}` } }),
        await app.inject({ url: '/v1/audit/events', headers: { authorization: `Bearer ${ADMIN_KEY}` } }),
        await app.inject('/nope'),
        await app.inject({
          method: 'POST',
          url: '/v1/accounts',
          payload: '{bad',
          headers: { 'content-type': 'application/json' },
        }),
      ];
      for (const r of responses) {
        const where = `${r.statusCode} ${r.body.slice(0, 60)}`;
        expect(r.headers['x-content-type-options'], where).toBe('nosniff');
        expect(r.headers['referrer-policy'], where).toBe('no-referrer');
        expect(r.headers['content-security-policy'], where).toBe("default-src 'none';frame-ancestors 'none'");
        expect(r.headers['x-frame-options'], where).toBe('DENY');
        expect(r.headers['cache-control'], where).toBe('no-store');
        expect(r.headers['strict-transport-security'], where).toBeUndefined(); // not in development
        expect(r.headers['cross-origin-resource-policy'], where).toBe('same-origin');
      }
    } finally {
      await app.close();
    }
  });

  it("the values are helmet's own for the API profile, computed once, without helmet's document-only headers", async () => {
    const { default: helmet } = await import('helmet');
    const { securityHeaderValues } = await import('../../src/http/security-headers.js');
    // What helmet itself sets on a real response with the same options.
    const set: Record<string, string> = {};
    const res = { setHeader: (n: string, v: string) => (set[n.toLowerCase()] = v), removeHeader: () => undefined };
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true, preload: false },
    })({} as never, res as never, () => undefined);
    const ours = securityHeaderValues(true);
    for (const [name, value] of Object.entries(ours)) expect(set[name], name).toBe(value);
    expect(Object.keys(ours).sort()).toEqual([
      'content-security-policy',
      'cross-origin-resource-policy',
      'referrer-policy',
      'strict-transport-security',
      'x-content-type-options',
      'x-frame-options',
    ]);
    expect(securityHeaderValues(false)['strict-transport-security']).toBeUndefined();
    // A route that chooses its own caching or framing keeps its choice.
    const { app } = await testApp(database, {}, (a) => {
      a.get('/own-headers', { config: { auth: 'public' } }, async (_request, reply) =>
        reply.header('cache-control', 'public, max-age=60').header('x-frame-options', 'SAMEORIGIN').send({ ok: true }),
      );
    });
    try {
      const r = await app.inject('/own-headers');
      expect(r.statusCode, r.body).toBe(200);
      expect(r.headers['cache-control']).toBe('public, max-age=60');
      expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await app.close();
    }
  });

  it('in production: HSTS, and every cookie the app sets is Secure', async () => {
    const { app } = await testApp(database, { env: 'production' });
    try {
      const ping = await app.inject('/v1/ping');
      expect(ping.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      const cookies = [
        ...setCookies(ping.headers),
        ...setCookies((await app.inject({ method: 'PUT', url: '/v1/consent', payload: { analytics: false } })).headers),
        ...setCookies((await app.inject({ url: '/v1/ping', headers: { 'sec-gpc': '1' } })).headers),
        ...setCookies(
          (
            await app.inject({
              method: 'POST',
              url: '/v1/accounts',
              payload: signupBody({ dateOfBirth: '2015-01-01' }),
            })
          ).headers,
        ),
      ];
      expect(cookies.length).toBeGreaterThanOrEqual(3);
      for (const c of cookies) expect(c, c.slice(0, 20)).toMatch(/; Secure/);
    } finally {
      await app.close();
    }
  });

  it('X-Forwarded-Proto is believed only from a trusted proxy', async () => {
    const protocolRoute = (app: Awaited<ReturnType<typeof testApp>>['app']) => {
      app.get('/proto', { config: { auth: 'public', ageGate: false } }, async (request) => ({
        protocol: request.protocol,
      }));
    };
    const untrusted = await testApp(database, {}, protocolRoute);
    const trusted = await testApp(database, { trustProxy: ['127.0.0.1'] }, protocolRoute);
    try {
      const headers = { 'x-forwarded-proto': 'https' };
      expect((await untrusted.app.inject({ url: '/proto', headers })).json().protocol).toBe('http');
      expect((await trusted.app.inject({ url: '/proto', headers })).json().protocol).toBe('https');
    } finally {
      await Promise.all([untrusted.app.close(), trusted.app.close()]);
    }
  });
});

describe('TLS in the app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hf-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );

  it('serves https with TLS_CERT_FILE and TLS_KEY_FILE', async () => {
    const app = await buildApp(testConfig({ tls: { certFile, keyFile } }), { database });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as { port: number }).port;
      const answer = await new Promise<{ status: number; body: string; hsts: unknown }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/v1/ping', rejectUnauthorized: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body, hsts: res.headers['strict-transport-security'] }),
          );
        });
        req.on('error', reject);
        req.end();
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ ok: true });
    } finally {
      await app.close();
    }
  });

  it('refuses one file without the other, unreadable files and a key that is not PEM, naming the variable', () => {
    const base = { DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-tls-data-')) };
    expect(() => loadConfig({ ...base, TLS_CERT_FILE: certFile })).toThrow(
      /TLS_CERT_FILE and TLS_KEY_FILE must be set together/,
    );
    expect(() => loadConfig({ ...base, TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: keyFile })).toThrow(
      /TLS_CERT_FILE cannot be read \(ENOENT\)/,
    );
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'secret-looking-text-0123456789');
    let message = '';
    try {
      loadConfig({ ...base, TLS_CERT_FILE: certFile, TLS_KEY_FILE: notPem });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/not a PEM certificate and its private key/);
    expect(message).not.toContain('secret-looking-text');
    expect(loadConfig({ ...base, TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile }).tls).toEqual({ certFile, keyFile });
  });
});
