// Issue 32 item 7, "In the people's languages": the public request form and every email about a
// request in English and Swahili. The form answers in the language of Accept-Language (sw, sw-KE,
// sw-TZ: Swahili; anything else English), with a switch of plain links that the forms' POSTs keep;
// the request keeps the language it was asked in, and its code and every message about it go in
// that language, through the real outbox and a real SMTP server, against real Postgres. The app's
// catalogue has every key in both languages, with the same placeholders and markup.
import { CATALOGUES, LANGUAGES } from '@harakaflow/notify';
import { placeholdersOf } from '@harakaflow/notify/internals';
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type Received, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CATALOGUES, PAGE_LANGUAGES, type PageKey } from '../src/languages/languages.js';
import { ADMIN_KEY, mailApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const ORIGIN = 'https://api.harakaflow.test';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
let n = 0;
const address = (who: string) => `${who}.${process.pid}.${Date.now()}.${++n}@example.org`;
const ip = () => `198.51.100.${(n % 200) + 1}`;

async function formApp() {
  const { app, smtp, logs } = await mailApp(database);
  const to = (a: string): Received[] => smtp.received.filter((m) => m.to.includes(a));
  /** Waits until `a` has received `count` messages; returns them all. */
  const mails = async (a: string, count: number) => {
    await until(async () => {
      while ((await app.notify.dispatch()) > 0);
      return to(a).length >= count;
    });
    return to(a);
  };
  const codeIn = (m: Received) => /^(\d{6})\r?$/m.exec(m.text)![1]!;
  const post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url,
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(form).toString(),
      remoteAddress: ip(),
    });
  return { app, smtp, logs, mails, codeIn, post };
}

const htmlLang = (body: string) => /<html lang="([^"]+)">/.exec(body)?.[1];

describe('the catalogue of the form', () => {
  it('has every key in every language, none empty, each with the same placeholders and the same markup', () => {
    const keys = Object.keys(PAGE_CATALOGUES.en) as PageKey[];
    const markup = (text: string) => text.match(/<\/?[a-z]+>/g) ?? [];
    for (const lang of PAGE_LANGUAGES) {
      const texts = PAGE_CATALOGUES[lang] as Record<string, unknown>;
      expect(Object.keys(texts).sort(), lang).toEqual([...keys].sort());
      for (const key of keys) {
        const text = texts[key];
        expect(typeof text === 'string' && text.trim().length > 0, `${lang} ${key} is empty`).toBe(true);
        expect(placeholdersOf(text as string).sort(), `${lang} ${key}`).toEqual(
          placeholdersOf(PAGE_CATALOGUES.en[key]).sort(),
        );
        expect(markup(text as string), `${lang} ${key}`).toEqual(markup(PAGE_CATALOGUES.en[key]));
        expect(text, `${lang} ${key}: only <link> and <strong>`).not.toMatch(/<(?!\/?(link|strong)>)/);
      }
    }
    // A page's language is always one the emails are written in.
    for (const lang of PAGE_LANGUAGES) expect(LANGUAGES).toContain(lang);
    expect(Object.keys(CATALOGUES).sort()).toEqual([...PAGE_LANGUAGES].sort());
  });
});

describe('the public request form', () => {
  it("follows the language chosen on the privacy centre's switch (its hf_lang cookie) over Accept-Language, and a link's choice over both", async () => {
    const { app } = await formApp();
    const remembered = await app.inject({
      url: '/privacy/request',
      headers: { 'accept-language': 'en-GB', cookie: 'hf_lang=sw' },
    });
    expect(htmlLang(remembered.body)).toBe('sw');
    const linked = await app.inject({
      url: '/privacy/request?lang=en',
      headers: { 'accept-language': 'sw', cookie: 'hf_lang=sw' },
    });
    expect(htmlLang(linked.body)).toBe('en');
    const unknown = await app.inject({
      url: '/privacy/request',
      headers: { 'accept-language': 'en-GB', cookie: 'hf_lang=fr' },
    });
    expect(htmlLang(unknown.body)).toBe('en');
  });

  it('answers Swahili for sw-KE,en;q=0.5 and English for en-GB, says so (html lang, Content-Language, Vary), and offers the other by a plain link', async () => {
    const { app } = await formApp();
    const sw = await app.inject({ url: '/privacy/request', headers: { 'accept-language': 'sw-KE,en;q=0.5' } });
    expect(sw.statusCode).toBe(200);
    expect(htmlLang(sw.body)).toBe('sw');
    expect(sw.headers['content-language']).toBe('sw');
    expect(sw.headers.vary).toMatch(/accept-language/i);
    expect(sw.body).toContain('<title>Tuma ombi kuhusu data yako · HarakaFlow</title>');
    expect(sw.body).toContain('<label for="email">Anwani yako ya barua pepe</label>');
    expect(sw.body).toContain('<option value="deletion">Futa data yangu</option>');
    expect(sw.body).toContain('<button type="submit">Nitumie msimbo</button>');
    expect(sw.body).toContain('<a href="/privacy">Kituo cha faragha</a>');
    expect(sw.body).not.toContain('Your email address');
    // The switch: English by its own name, a link to this page in English; Swahili marked as current.
    expect(sw.body).toContain(
      '<nav class="languages" aria-label="Lugha"><a href="/privacy/request?lang=en" lang="en" hreflang="en">English</a> · <span lang="sw" aria-current="true">Kiswahili</span></nav>',
    );
    // Nothing chosen: no hidden field (the browser's language decides again next time).
    expect(sw.body).not.toContain('name="lang"');

    const en = await app.inject({ url: '/privacy/request', headers: { 'accept-language': 'en-GB' } });
    expect(htmlLang(en.body)).toBe('en');
    expect(en.headers['content-language']).toBe('en');
    expect(en.body).toContain('<label for="email">Your email address</label>');
    expect(en.body).toContain('<a href="/privacy/request?lang=sw" lang="sw" hreflang="sw">Kiswahili</a>');
    // No header at all: English.
    expect(htmlLang((await app.inject('/privacy/request')).body)).toBe('en');

    // The switch wins over the header, and keeps what a link chose (the kind).
    const switched = await app.inject({
      url: '/privacy/request?kind=deletion&lang=en',
      headers: { 'accept-language': 'sw-KE' },
    });
    expect(htmlLang(switched.body)).toBe('en');
    expect(switched.body).toContain('<option value="deletion" selected>Delete my data</option>');
    expect(switched.body).toContain('<input type="hidden" name="lang" value="en">');
    expect(switched.body).toContain('href="/privacy/request?kind=deletion&#38;lang=sw"');
    const back = await app.inject({
      url: '/privacy/request?kind=deletion&lang=sw',
      headers: { 'accept-language': 'en' },
    });
    expect(htmlLang(back.body)).toBe('sw');
    expect(back.body).toContain('<option value="deletion" selected>Futa data yangu</option>');
  });

  it('never fails on a header or a choice it cannot read: English, escaped, and always en or sw (property)', async () => {
    const { app } = await formApp();
    for (const url of [
      '/privacy/request?lang=%3Cscript%3E',
      '/privacy/request?lang=fr',
      '/privacy/request?lang=sw&lang=en',
      '/privacy/request?lang=',
    ]) {
      const res = await app.inject({ url, headers: { 'accept-language': 'en' } });
      expect(res.statusCode, url).toBe(200);
      expect(htmlLang(res.body), url).toBe('en');
      expect(res.body).not.toContain('<script>');
    }
    // Header values a client can send (no control characters: Node refuses those before the app).
    const header = fc.oneof(
      fc.stringMatching(/^[ -~]{0,200}$/),
      fc
        .array(fc.constantFrom('sw', 'sw-KE', 'en-GB', 'fr', '*', ';q=0', ';q=0.5', ',', ';', '=', 'q', ' '), {
          maxLength: 30,
        })
        .map((a) => a.join('')),
    );
    await fc.assert(
      fc.asyncProperty(header, async (h) => {
        const res = await app.inject({ url: '/privacy/request', headers: { 'accept-language': h } });
        expect(res.statusCode).toBe(200);
        expect(['en', 'sw']).toContain(htmlLang(res.body));
        expect(res.headers['content-language']).toBe(htmlLang(res.body));
      }),
      { numRuns: 60 },
    );
  });

  it('shows its errors in the page’s language, and keeps a chosen language through its POSTs', async () => {
    const { post } = await formApp();
    const bad = await post('/privacy/request', { email: 'nope', kind: 'access' }, { 'accept-language': 'sw' });
    expect(bad.statusCode).toBe(400);
    expect(htmlLang(bad.body)).toBe('sw');
    expect(bad.body).toContain(
      '<p class="notice" role="alert">Tafadhali weka anwani ya barua pepe: msimbo utatumwa huko.</p>',
    );
    const phone = await post(
      '/privacy/request',
      { email: address('x'), kind: 'access', contact: '0711', lang: 'sw' },
      { 'accept-language': 'en' },
    );
    expect(htmlLang(phone.body)).toBe('sw');
    expect(phone.body).toContain('Tafadhali andika nambari ya simu');
    expect(phone.body).toContain('<input type="hidden" name="lang" value="sw">');
    const english = await post(
      '/privacy/request',
      { email: address('y'), kind: 'nothing' },
      { 'accept-language': 'en-GB' },
    );
    expect(english.body).toContain('Please choose what you ask for.');
    // A choice it does not know is no choice: the header decides; never a 500.
    const unknown = await post(
      '/privacy/request',
      { email: 'nope', kind: 'access', lang: '<b>' },
      { 'accept-language': 'sw-TZ' },
    );
    expect(unknown.statusCode).toBe(400);
    expect(htmlLang(unknown.body)).toBe('sw');
    expect(unknown.body).not.toContain('<b>');
  });

  it('writes to a person who asked in Swahili in Swahili: the code, the page, every message about the request', async () => {
    const { app, mails, codeIn, post } = await formApp();
    const email = address('wanjiru');
    // The switch chose Swahili, whatever the browser says.
    const sent = await post(
      '/privacy/request',
      { email, kind: 'objection', details: 'Sitaki matangazo', lang: 'sw' },
      { 'accept-language': 'en-GB' },
    );
    expect(sent.statusCode, sent.body).toBe(303);
    const page = sent.headers.location!;
    expect(page).toMatch(/^\/privacy\/request\/[0-9a-f-]{36}\?lang=sw$/);
    const id = /([0-9a-f-]{36})/.exec(page)![1]!;
    const codePage = await app.inject({ url: page, headers: { 'accept-language': 'en-GB' } });
    expect(htmlLang(codePage.body)).toBe('sw');
    expect(codePage.body).toContain('<label for="code">Msimbo</label>');
    expect(codePage.body).toContain(`<a href="/privacy/request/${id}?lang=en" lang="en" hreflang="en">English</a>`);

    const [code] = await mails(email, 1);
    expect(code!.headers['x-harakaflow-notification']).toBe('privacy.request.code');
    expect(code!.headers['content-language']).toBe('sw');
    expect(code!.headers.subject).toBe('HarakaFlow: msimbo wa kuthibitisha ombi lako kuhusu faragha');
    expect(code!.text).toContain(
      'HarakaFlow imepokea ombi kuhusu anwani hii ya barua pepe: kupinga matumizi fulani ya data yako.',
    );
    expect(code!.html).toContain('<html lang="sw">');

    // A wrong code: the Swahili error; a new code: redirected in Swahili, sent in Swahili.
    const wrong = await post(`/privacy/request/${id}`, {
      code: codeIn(code!) === '000000' ? '111111' : '000000',
      lang: 'sw',
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain('Huo si msimbo tuliotuma kwa ombi hili.');
    const resent = await post(`/privacy/request/${id}/code`, { lang: 'sw' });
    expect(resent.headers.location).toBe(`/privacy/request/${id}?sent=1&lang=sw`);
    expect((await app.inject({ url: resent.headers.location! })).body).toContain('Msimbo mpya uko njiani.');
    const second = (await mails(email, 2))[1]!;
    expect(second.headers['content-language']).toBe('sw');

    const done = await post(`/privacy/request/${id}`, { code: codeIn(second), lang: 'sw' });
    expect(done.statusCode, done.body).toBe(200);
    expect(htmlLang(done.body)).toBe('sw');
    expect(done.body).toContain('<p class="status" role="status">Ombi lako limethibitishwa.</p>');
    expect(done.body).toContain(`Nambari yako ya kumbukumbu: <strong>${id}</strong>.`);

    // The request keeps its language: the admin sees it, and the answers go in it.
    const view = (await app.inject({ url: '/v1/admin/privacy/requests?limit=200', headers: admin }))
      .json()
      .requests.find((r: { id: string }) => r.id === id);
    expect(view).toMatchObject({ id, kind: 'objection', lang: 'sw' });
    const denied = await app.inject({
      method: 'POST',
      url: `/v1/admin/privacy/requests/${id}/deny`,
      headers: admin,
      payload: { reason: 'hatutumii data yako kwa matangazo' },
    });
    expect(denied.statusCode, denied.body).toBe(200);
    // Two codes, then received and declined (an objection waits for the admin: no "in progress").
    const all = await mails(email, 4);
    const told = all.filter((m) => m.headers['x-harakaflow-notification'] === 'privacy.request.updated');
    expect(told.map((m) => m.headers['content-language'])).toEqual(['sw', 'sw']);
    expect(told.map((m) => m.headers.subject).sort()).toEqual([
      'HarakaFlow: ombi lako limekataliwa (kupinga matumizi fulani ya data yako)',
      'HarakaFlow: tumepokea ombi lako (kupinga matumizi fulani ya data yako)',
    ]);
    const declined = told.find((m) => m.headers.subject!.startsWith('HarakaFlow: ombi lako limekataliwa'))!;
    expect(declined.text).toMatch(/^Habari,\r?\n/);
    expect(declined.text).toContain(
      'Hatukuweza kutekeleza ombi lako: kupinga matumizi fulani ya data yako. Sababu: hatutumii data yako kwa matangazo',
    );
    expect(declined.text).toContain('Unaweza kuwasilisha malalamiko kwa Ofisi ya Kamishna wa Ulinzi wa Data (Kenya).');
    expect(declined.text).toContain(`Nambari ya ombi: ${id}.`);
    expect(declined.text).not.toMatch(/\b(Hello|request|reason)\b/);
  });

  it('writes in English to a person whose browser asked for English, and the JSON route follows Accept-Language or its body', async () => {
    const { app, mails, post } = await formApp();
    const email = address('john');
    expect(
      (await post('/privacy/request', { email, kind: 'access' }, { 'accept-language': 'en-GB,sw;q=0.3' })).statusCode,
    ).toBe(303);
    const [code] = await mails(email, 1);
    expect(code!.headers['content-language']).toBe('en');
    expect(code!.headers.subject).toBe('HarakaFlow: your code to confirm your privacy request');

    const submit = (body: object, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url: '/v1/privacy/public-requests', payload: body, headers, remoteAddress: ip() });
    const cases: [object, Record<string, string>, string, string | null][] = [
      [{ kind: 'access' }, { 'accept-language': 'sw-KE,en;q=0.5' }, 'sw', 'sw'],
      [{ kind: 'access', lang: 'en' }, { 'accept-language': 'sw' }, 'en', 'en'],
      [{ kind: 'access', lang: 'sw' }, {}, 'sw', 'sw'],
      // No header, no choice: none kept (English).
      [{ kind: 'access' }, {}, 'en', null],
    ];
    for (const [body, headers, sentIn, kept] of cases) {
      const to = address('api');
      const res = await submit({ ...body, email: to }, headers);
      expect(res.statusCode, res.body).toBe(202);
      expect((await mails(to, 1))[0]!.headers['content-language'], JSON.stringify(body)).toBe(sentIn);
      const [row] = await rows(sql`select pending from data_rights.verifications where request_id = ${res.json().id}`);
      expect((row!.pending as { lang?: string }).lang ?? null).toBe(kept);
    }
    const refused = await submit({ email: address('z'), kind: 'access', lang: 'fr' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('HF_VALIDATION_FAILED');
  });

  it('gives a request read from the privacy mailbox the language of the page its code is entered on', async () => {
    const { app, mails, codeIn, post } = await formApp();
    const person = address('mailbox');
    const taken = await app.dataRights.intake.receive(
      {
        source: `privacy:1:${n}`,
        messageId: `${n}.${Date.now()}@mail.example.org`,
        thread: [],
        receivedAt: new Date(),
        size: 10,
        raw: Buffer.from('x'),
        from: person,
        subject: 'Futa data yangu',
        text: 'Please delete my data.',
        automatic: null,
      },
      async () => null,
    );
    const id = taken.requestId!;
    // Nothing chose a language yet: the 'received' message, with its code, is in English.
    const [received] = await mails(person, 1);
    expect(received!.headers['content-language']).toBe('en');
    // The person opens the link in a Swahili browser and enters the code there.
    const codePage = await app.inject({ url: `/privacy/request/${id}`, headers: { 'accept-language': 'sw-KE' } });
    expect(htmlLang(codePage.body)).toBe('sw');
    const done = await post(`/privacy/request/${id}`, { code: codeIn(received!) }, { 'accept-language': 'sw-KE' });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.body).toContain('Ombi lako limethibitishwa.');
    const next = (await mails(person, 2))[1]!;
    expect(next.headers['content-language']).toBe('sw');
    expect(next.headers.subject).toMatch(
      /^HarakaFlow: (tunashughulikia ombi lako|tumepokea ombi lako) \(kufuta data yako\)$/,
    );
    expect((await app.dataRights.get(id)).lang).toBe('sw');
  });
});
