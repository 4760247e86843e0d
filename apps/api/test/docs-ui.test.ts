// Issue 31 item 1, the page: /docs is a readable API reference (Swagger UI) whose every asset is
// served by this server (no CDN), public outside production, and absent in production unless
// OPENAPI_PUBLIC=1 (the rule of issue 30 item 12, test/regressions/docs-form-contact.test.ts).
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { testApp } from './helpers.js';

let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database));
});
afterAll(async () => {
  await app.close();
  await database.close();
});

/** Every URL a page refers to in src= or href=. */
const references = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);

describe('/docs', () => {
  it('answers an HTML page, without a credential, whose every asset loads from this server', async () => {
    for (const url of ['/docs', '/docs/']) {
      const page = await app.inject(url);
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<div id="swagger-ui"></div>');
      const assets = references(page.body);
      expect(assets.length).toBeGreaterThanOrEqual(5);
      for (const asset of assets) {
        // A path on this server: no scheme, no host, no protocol-relative //host.
        expect(asset, `${url} refers to ${asset}`).not.toMatch(/^[a-z][a-z0-9+.-]*:|^\/\//i);
        const resolved = new URL(asset, `http://api.test${url}`);
        expect(resolved.host).toBe('api.test');
        const res = await app.inject(resolved.pathname);
        expect(res.statusCode, resolved.pathname).toBe(200);
        expect(res.rawPayload.length, resolved.pathname).toBeGreaterThan(0);
      }
      // The scripts the page loads are the three of Swagger UI, from /docs/static.
      expect(
        assets
          .filter((a) => a.endsWith('.js'))
          .map((a) => new URL(a, `http://api.test${url}`).pathname)
          .sort(),
      ).toEqual([
        '/docs/static/swagger-initializer.js',
        '/docs/static/swagger-ui-bundle.js',
        '/docs/static/swagger-ui-standalone-preset.js',
      ]);
    }
  });

  it('loads scripts, styles and the document from this server only (CSP), and asks no validator elsewhere', async () => {
    const page = await app.inject('/docs');
    const csp = String(page.headers['content-security-policy']);
    const directives = Object.fromEntries(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    for (const [name, values] of Object.entries(directives))
      for (const v of values as string[]) expect(v, `${name} ${v}`).toMatch(/^'[a-z-]+'$|^data:$/);
    const init = await app.inject('/docs/static/swagger-initializer.js');
    expect(init.headers['content-type']).toMatch(/javascript/);
    expect(init.body).toContain('validatorUrl: null');
    expect(init.body).toContain("resolveUrl('./json')");
    const css = await app.inject('/docs/static/swagger-ui.css');
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.body).not.toMatch(/@import|url\((?!["']?data:)/);
  });

  it('serves the document the page reads at /docs/json, public, and not in the document itself', async () => {
    const json = await app.inject('/docs/json');
    expect(json.statusCode).toBe(200);
    const doc = json.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
    expect((await app.inject('/docs/yaml')).body).toContain('openapi: 3.1.0');
  });

  it('is not served in production, assets included, unless OPENAPI_PUBLIC=1', async () => {
    const { app: production } = await testApp(database, { env: 'production' });
    onTestFinished(() => production.close());
    for (const url of [
      '/docs',
      '/docs/',
      '/docs/json',
      '/docs/yaml',
      '/docs/static/swagger-ui-bundle.js',
      '/docs/static/swagger-initializer.js',
    ]) {
      const res = await production.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe('HF_NOT_FOUND');
    }
    const { app: open } = await testApp(database, { env: 'production', openapiPublic: true });
    onTestFinished(() => open.close());
    expect((await open.inject('/docs')).statusCode).toBe(200);
    expect((await open.inject('/docs/static/swagger-ui-bundle.js')).statusCode).toBe(200);
  });
});
