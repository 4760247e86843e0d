// Issue 32 item 7, the privacy centre's languages without a browser: the two catalogues agree key
// for key (none empty, the same placeholders and links), every key the page and its script use is
// in them, Accept-Language is parsed with its q-values, and /privacy answers in the language chosen
// (the switch's ?lang=, remembered in hf_lang, else Accept-Language) with Vary saying so.
// (The page in Swahili in Chromium: privacy-centre.browser.test.ts.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OBJECTION_PURPOSES, PURPOSES } from '../src/privacy/article15.js';
import { catalogue, fromAcceptLanguage, LANGUAGES, placeholders } from '../src/languages/centre-languages.js';
import { SCRIPT_MODULES } from '../src/routes/privacy/centre-assets.js';
import { markup } from '../src/routes/privacy/centre.js';
import { appForFile } from './helpers.js';

const en = catalogue('en');
const sw = catalogue('sw');
const setCookies = (headers: Record<string, unknown>) => {
  const h = headers['set-cookie'];
  return (Array.isArray(h) ? h : h === undefined ? [] : [h]).map(String);
};
const web = (name: string) => readFileSync(new URL(`../web/${name}`, import.meta.url), 'utf8');

describe('the catalogues', () => {
  it('have exactly the same keys, none empty, the same placeholders and links per key', () => {
    expect(Object.keys(sw).sort()).toEqual(Object.keys(en).sort());
    for (const language of LANGUAGES) {
      for (const [key, value] of Object.entries(catalogue(language)))
        expect(value.trim(), `${language}: ${key}`).not.toBe('');
    }
    for (const key of Object.keys(en)) expect(placeholders(sw[key] ?? ''), key).toEqual(placeholders(en[key]!));
    // Emphasis and strong markers too: the same markup in both.
    const marks = (text: string) => (text.match(/\*+/g) ?? []).join(' ');
    for (const key of Object.keys(en)) expect(marks(sw[key] ?? ''), key).toBe(marks(en[key]!));
  });

  it('hold every key index.html and privacy.js use', () => {
    const html = web('index.html');
    const used = [...html.matchAll(/\{\{t:([\w.]+)\}\}/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(60);
    for (const key of used) expect(en, key).toHaveProperty([key]);
    for (const p of OBJECTION_PURPOSES) expect(en, p).toHaveProperty([`page.purpose.${p}`]);
    for (const d of ['denied', 'granted']) expect(en).toHaveProperty([`page.banner.analytics.${d}`]);
    const script = SCRIPT_MODULES.map(web).join('\n');
    const keys = [...script.matchAll(/\bt\('([\w.]+)'/g)]
      .map((m) => m[1]!)
      .filter((k) => !['li', 'strong', 'p', 'button', 'tr', 'td', 'form', 'small', 'a'].includes(k));
    expect(keys.length).toBeGreaterThan(40);
    for (const key of keys) expect(en, key).toHaveProperty([key === 'locale' ? key : `js.${key}`]);
    // The keys the script makes from a value: every kind, status and verdict.
    for (const kind of [
      'access',
      'portability',
      'correction',
      'deletion',
      'restriction',
      'objection',
      'withdraw_consent',
    ]) {
      expect(en).toHaveProperty([`js.kind.${kind}`]);
      expect(en).toHaveProperty([`js.contactKind.${kind}`]);
    }
    for (const status of ['open', 'in_progress', 'fulfilled', 'denied', 'canceled', 'expired'])
      expect(en).toHaveProperty([`js.status.${status}`]);
    for (const verdict of ['verified', 'mismatch', 'unknownKey', 'notReceipt', 'noKeys', 'unsupported'])
      expect(en).toHaveProperty([`js.verdict.${verdict}`]);
    for (const reason of ['bounced', 'complained', 'unknown']) expect(en).toHaveProperty([`js.noticeSent.${reason}`]);
  });

  it("give the objection's uses in the policy's own words in English", () => {
    for (const p of OBJECTION_PURPOSES) expect(en[`page.purpose.${p}`]).toBe(PURPOSES[p]);
  });

  it('are made HTML with everything escaped and only their own markup', () => {
    expect(markup('**A** <b>x</b> & *b* [c](/privacy/request) {name}', { name: '<i>ok</i>' })).toBe(
      '<strong>A</strong> &#60;b&#62;x&#60;/b&#62; &#38; <em>b</em> <a href="/privacy/request">c</a> <i>ok</i>',
    );
    // Only a same-site path is a link.
    expect(markup('[x](https://evil.example)')).toBe('[x](https://evil.example)');
  });
});

describe('Accept-Language', () => {
  it.each([
    ['sw-KE,en;q=0.5', 'sw'],
    ['sw', 'sw'],
    ['sw-TZ', 'sw'],
    ['SW-ke', 'sw'],
    ['en-GB', 'en'],
    ['sw;q=0, en', 'en'],
    ['sw;q=0', 'en'],
    ['fr-FR, sw;q=0.4, en;q=0.3', 'sw'],
    ['en;q=0.8, sw;q=0.9', 'sw'],
    ['en, sw', 'en'],
    ['sw;q=1.5, en;q=0.1', 'en'],
    ['fr', 'en'],
    ['fr, *;q=0.5', 'en'],
    ['en;q=0, *', 'sw'],
    ['sw;q=0.2, *;q=0.5', 'en'],
    ['', 'en'],
    [undefined, 'en'],
  ])('%s → %s', (header, language) => {
    expect(fromAcceptLanguage(header)).toBe(language);
  });
});

describe('/privacy in the language chosen', () => {
  const under = appForFile();
  const get = (headers: Record<string, string>, url = '/privacy') =>
    under.app.inject({ url, headers: { 'accept-encoding': 'identity', ...headers } });

  it('answers Swahili for sw-KE, English for en-GB and for sw;q=0, en, with Vary and Content-Language', async () => {
    const sw = await get({ 'accept-language': 'sw-KE,en;q=0.5' });
    expect(sw.statusCode).toBe(200);
    expect(sw.body).toContain('<html lang="sw">');
    expect(sw.body).toContain('<h1>Kituo cha faragha</h1>');
    expect(sw.headers['content-language']).toBe('sw');
    expect(String(sw.headers.vary).toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['accept-encoding', 'accept-language', 'cookie']),
    );
    // The script's texts, Swahili, as a JSON data block; the objection's uses in Swahili.
    const block = /<script type="application\/json" id="text">(.*?)<\/script>/.exec(sw.body)![1]!;
    expect(JSON.parse(block)).toMatchObject({ locale: 'sw-KE', signedIn: 'Umeingia.' });
    expect(sw.body).toContain(`<option value="billing">${catalogue('sw')['page.purpose.billing']}</option>`);
    expect(sw.body).not.toMatch(/\{\{|\}\}/);
    for (const header of ['en-GB', 'sw;q=0, en']) {
      const english = await get({ 'accept-language': header });
      expect(english.body).toContain('<html lang="en">');
      expect(english.body).toContain('<h1>Privacy centre</h1>');
      expect(english.headers['content-language']).toBe('en');
      expect(english.body).not.toMatch(/\{\{|\}\}/);
    }
    // No header: English. The switch marks the page's own language.
    const none = await get({});
    expect(none.body).toContain('<html lang="en">');
    expect(none.body).toMatch(/<a href="\/privacy\?lang=en" hreflang="en" lang="en" aria-current="true">English<\/a>/);
    expect(sw.body).toMatch(/<a href="\/privacy\?lang=sw" hreflang="sw" lang="sw" aria-current="true">Kiswahili<\/a>/);
  });

  it('lets the switch win over Accept-Language, remembered in a Path=/privacy, SameSite=Lax cookie', async () => {
    const chosen = await get({ 'accept-language': 'sw-KE' }, '/privacy?lang=en');
    expect(chosen.body).toContain('<html lang="en">');
    const cookie = setCookies(chosen.headers).find((c) => c.startsWith('hf_lang='))!;
    expect(cookie).toMatch(/^hf_lang=en;/);
    expect(cookie).toMatch(/Path=\/privacy/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/HttpOnly/);
    // Next visit, no query: the cookie wins over the browser's language.
    const next = await get({ 'accept-language': 'sw-KE', cookie: 'hf_lang=en' });
    expect(next.body).toContain('<html lang="en">');
    expect(setCookies(next.headers).filter((c) => c.startsWith('hf_lang='))).toEqual([]);
    const back = await get({ 'accept-language': 'en-GB', cookie: 'hf_lang=sw' });
    expect(back.body).toContain('<html lang="sw">');
    // Neither a stray value nor a cookie it did not set changes anything.
    const stray = await get({ 'accept-language': 'sw' }, '/privacy?lang=fr');
    expect(stray.body).toContain('<html lang="sw">');
    expect(setCookies(stray.headers).filter((c) => c.startsWith('hf_lang='))).toEqual([]);
  });
});
