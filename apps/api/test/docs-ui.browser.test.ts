// Issue 31 item 1, in Chromium: /docs renders the API reference (its operations listed) under its
// own CSP, every request the page makes goes to this server, and nothing is refused by the CSP.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launch } from './helpers-browser.js';
import { testApp } from './helpers.js';

describe.skipIf(!hasChromium)('/docs in Chromium', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    database = await testDatabase();
    ({ app } = await testApp(database));
    await app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.close();
  });

  it('lists the operations, loading everything from this server, with no CSP refusal', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requested: string[] = [];
    const refused: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    page.on('pageerror', (e) => refused.push(e.message));
    const res = await page.goto(`${origin}/docs`);
    expect(res?.status()).toBe(200);
    // Swagger UI rendered the document: the title and an operation of every tag's group.
    await page.getByRole('heading', { name: /HarakaFlow API/ }).waitFor();
    await page.getByText('/v1/privacy/requests', { exact: true }).first().waitFor();
    expect(await page.getByText('/v1/admin/notifications', { exact: true }).count()).toBeGreaterThan(0);
    expect(requested.length).toBeGreaterThanOrEqual(5);
    for (const url of requested) expect(url.startsWith(`${origin}/`) || url.startsWith('data:'), url).toBe(true);
    expect(requested).toContain(`${origin}/docs/json`);
    expect(refused).toEqual([]);
    await context.close();
  });
});
