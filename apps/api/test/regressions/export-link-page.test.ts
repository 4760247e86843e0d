// Issue 30 item 7: a one-time export link was used up by whoever touched it first: a HEAD (200 with
// the length), a mail link scanner, a chat unfurler or a browser prefetch spent it, and the person
// then got 410. The admin's queue and `hf-rights show` printed every live link, and the admin's
// download spent it too. Now GET and HEAD answer a page with the download buttons and change
// nothing; POST downloads (JSON or zip, as GET negotiated); the admin's views never show the link,
// and the admin can send it to the person again instead.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PAGE_CSP } from '../../src/routes/privacy/centre.js';
import { ADMIN_KEY, signup, testApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));

async function exportOf(app: FastifyInstance, apiKey: string, kind: 'access' | 'portability' = 'access') {
  const filed = (
    await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: bearer(apiKey), payload: { kind } })
  ).json();
  expect(filed.status).toBe('fulfilled');
  const url = (await app.inject({ url: `/v1/privacy/requests/${filed.id}`, headers: bearer(apiKey) })).json().export
    .url as string;
  return { id: filed.id as string, url, token: url.split('/').pop()! };
}

describe('an export link', () => {
  it('is not spent by HEAD, GET (a scanner, an unfurler, a prefetch) or their repeats: only POST downloads it, once', async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const { apiKey } = await signup(app);
    const { url } = await exportOf(app, apiKey);

    const head = await app.inject({ method: 'HEAD', url });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/html/);
    for (const headers of [
      {},
      { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', purpose: 'prefetch' },
      { 'user-agent': 'Slackbot-LinkExpanding 1.0' },
    ]) {
      const page = await app.inject({ url, headers });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-disposition']).toBeUndefined();
      // A form that posts the link, no script; the privacy centre's CSP; the API's no-referrer and no-store.
      expect(page.body).toContain('<form method="post">');
      expect(page.body).toContain('Download my data (JSON)');
      expect(page.body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
      expect(page.headers['content-security-policy']).toBe(PAGE_CSP);
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.headers['x-robots-tag']).toBe('noindex, nofollow');
    }
    // An API client still on GET is told what changed, in the one error shape.
    const json = await app.inject({ url, headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(406);
    expect(json.json()).toMatchObject({ statusCode: 406, code: 'HF_DATA_RIGHTS_EXPORT_PAGE' });

    // The page's button: a form post, the format chosen by the button.
    const download = await app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html,*/*;q=0.8' },
      payload: 'format=json',
    });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toMatch(/^application\/json/);
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="harakaflow-export-.+\.json"$/);
    expect(download.json().manifest.parts.length).toBeGreaterThan(3);
    // Once.
    const again = await app.inject({ method: 'POST', url });
    expect(again.statusCode).toBe(410);
    expect(again.json().code).toBe('HF_DATA_RIGHTS_EXPORT_GONE');
    // A browser (Accept names HTML) is told on a page; a client that did not ask for HTML gets the one error shape.
    const gone = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(gone.statusCode).toBe(410);
    expect(gone.headers['content-type']).toMatch(/^text\/html/);
    expect(gone.body).toContain('This link no longer works');
    const goneJson = await app.inject({ url });
    expect(goneJson.statusCode).toBe(410);
    expect(goneJson.json().code).toBe('HF_DATA_RIGHTS_EXPORT_GONE');
  });

  it('downloads by POST with the Accept negotiation GET had: JSON by default, a zip, 406 otherwise; bad forms are 400', async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const { apiKey } = await signup(app);
    const first = await exportOf(app, apiKey, 'portability');
    const refused = await app.inject({ method: 'POST', url: first.url, headers: { accept: 'text/html' } });
    expect(refused.statusCode).toBe(406);
    expect(refused.json().code).toBe('HF_DATA_RIGHTS_NOT_ACCEPTABLE');
    const badForm = await app.inject({
      method: 'POST',
      url: first.url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'format=tar',
    });
    expect(badForm.statusCode).toBe(400);
    expect(badForm.json().code).toBe('HF_VALIDATION_FAILED');
    const zip = await app.inject({ method: 'POST', url: first.url, headers: { accept: 'application/zip' } });
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.rawPayload.subarray(0, 4).readUInt32LE(0)).toBe(0x04034b50);
    const second = await exportOf(app, apiKey);
    const viaButton = await app.inject({
      method: 'POST',
      url: second.url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'format=zip',
    });
    expect(viaButton.headers['content-type']).toBe('application/zip');
    const third = await exportOf(app, apiKey);
    const plain = await app.inject({ method: 'POST', url: third.url });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toMatch(/^application\/json/);
    expect((await app.inject({ method: 'POST', url: '/v1/privacy/exports/not-a-token' })).statusCode).toBe(410);
  });

  // Issue 32 item 7: the page a person reaches from the email, in English and Swahili.
  it('shows its page, and the used or expired one, in the language of Accept-Language (sw-KE: Swahili, en-GB: English) or of its ?lang= switch', async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const { apiKey } = await signup(app);
    const { url, token } = await exportOf(app, apiKey);
    const path = new URL(url, 'https://api.harakaflow.test').pathname;
    const htmlLang = (body: string) => /<html lang="([^"]+)">/.exec(body)?.[1];
    const browser = (language: string) => ({
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      'accept-language': language,
    });

    const sw = await app.inject({ url: path, headers: browser('sw-KE,en;q=0.5') });
    expect(sw.statusCode).toBe(200);
    expect(htmlLang(sw.body)).toBe('sw');
    expect(sw.headers['content-language']).toBe('sw');
    expect(sw.headers.vary).toMatch(/accept-language/i);
    expect(sw.body).toContain('<h1>Nakala ya data yako</h1>');
    expect(sw.body).toContain('<button type="submit" name="format" value="json">Pakua data yangu (JSON)</button>');
    expect(sw.body).toMatch(/hadi \d{1,2} [A-Z][a-z]+ 20\d\d, \d\d:\d\d UTC/);
    expect(sw.body).not.toContain('Download my data');
    // The switch: this page in English (a GET: it spends nothing); the CSP, no-referrer and no-store as before.
    expect(sw.body).toContain(`<a href="/v1/privacy/exports/${token}?lang=en" lang="en" hreflang="en">English</a>`);
    expect(sw.body).toContain('<a href="/privacy">kituo cha faragha</a>');
    expect(sw.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(sw.headers['referrer-policy']).toBe('no-referrer');
    expect(sw.body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);

    const en = await app.inject({ url: path, headers: browser('en-GB') });
    expect(htmlLang(en.body)).toBe('en');
    expect(en.headers['content-language']).toBe('en');
    expect(en.body).toContain('<h1>Your data export</h1>');
    expect(en.body).toContain('Download my data (zip)');

    // ?lang= wins over the header; the privacy centre's link then carries the choice.
    const chosen = await app.inject({ url: `${path}?lang=sw`, headers: browser('en-GB') });
    expect(htmlLang(chosen.body)).toBe('sw');
    expect(chosen.body).toContain('<a href="/privacy?lang=sw">kituo cha faragha</a>');
    expect(htmlLang((await app.inject({ url: `${path}?lang=en`, headers: browser('sw') })).body)).toBe('en');
    expect(htmlLang((await app.inject({ url: `${path}?lang=%3Cb%3E`, headers: browser('sw') })).body)).toBe('sw');

    // Downloaded (the button posts to the page's own address, ?lang= and all): the used link's page, in both.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `${path}?lang=sw`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'format=json',
        })
      ).statusCode,
    ).toBe(200);
    const gone = await app.inject({ url: path, headers: browser('sw-KE') });
    expect(gone.statusCode).toBe(410);
    expect(htmlLang(gone.body)).toBe('sw');
    expect(gone.headers['content-language']).toBe('sw');
    expect(gone.body).toContain('<h1>Kiungo hiki hakifanyi kazi tena</h1>');
    const goneEn = await app.inject({ url: path, headers: browser('en-GB') });
    expect(goneEn.body).toContain('<h1>This link no longer works</h1>');
    expect(htmlLang((await app.inject({ url: `${path}?lang=en`, headers: browser('sw-KE') })).body)).toBe('en');
    // A client that did not ask for HTML: the one error shape, whatever its language.
    expect((await app.inject({ url: path, headers: { 'accept-language': 'sw' } })).json().code).toBe(
      'HF_DATA_RIGHTS_EXPORT_GONE',
    );
  });

  it("never appears in the admin's views; the admin sends it to the person again, and it still works for them", async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const { account, apiKey } = await signup(app);
    const { id, url, token } = await exportOf(app, apiKey);
    const queue = await app.inject({ url: '/v1/admin/privacy/requests?kind=access&limit=200', headers: admin });
    expect(queue.statusCode).toBe(200);
    expect(queue.body).not.toContain(token);
    const listed = queue.json().requests.find((r: { id: string }) => r.id === id);
    expect(listed.export).toEqual({ expiresAt: expect.any(String) });
    expect(JSON.stringify(await app.dataRights.get(id))).not.toContain(token);

    const before = await rows(
      sql`select data from notify.outbox where account_id = ${account.id} and kind = 'privacy.request.updated'`,
    );
    const resent = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${id}/resend-export`,
      headers: admin,
    });
    expect(resent.statusCode).toBe(200);
    expect(resent.body).not.toContain(token);
    expect(resent.json().history.at(-1)).toMatchObject({ by: 'admin', event: 'export-resent' });
    const after = await rows(
      sql`select data from notify.outbox where account_id = ${account.id} and kind = 'privacy.request.updated'`,
    );
    expect(after.length).toBe(before.length + 1);
    // The outbox holds no link: it is read when the message is sent.
    expect(JSON.stringify(after)).not.toContain(token);
    expect(await app.dataRights.exportLink(id)).toEqual({ url, expiresAt: expect.any(String) });
    await app.audit.flush();
    expect((await rows(sql`select action from audit.events where action = 'data_rights.export.resent'`)).length).toBe(
      1,
    );

    // The person downloads it; then there is nothing to send (410), and a request without an export is 400.
    expect((await app.inject({ method: 'POST', url })).statusCode).toBe(200);
    const late = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${id}/resend-export`,
      headers: admin,
    });
    expect(late.statusCode).toBe(410);
    expect(late.json().code).toBe('HF_DATA_RIGHTS_EXPORT_GONE');
    const objection = (
      await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: bearer(apiKey),
        payload: { kind: 'objection' },
      })
    ).json();
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/admin/privacy/requests/${objection.id}/resend-export`,
          headers: admin,
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: `/v1/admin/privacy/requests/${id}/resend-export`,
          headers: bearer(apiKey),
        })
      ).statusCode,
    ).toBe(403);
  });
});
