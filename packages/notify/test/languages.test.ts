// Issue 32 item 7: every message in English and Swahili. The catalogues have the same keys, none
// empty, with the same placeholders in each language; every kind renders every one of its cases
// in every language, and every text of the catalogues is used by some case; the language chosen
// when a message is queued is the one it is sent in, through the real outbox, against real
// Postgres and a real SMTP server; the Accept-Language reader never throws and answers a language
// of the catalogues whatever the header (property tests).
import { startSmtp, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import notify, {
  CATALOGUES,
  KINDS,
  LANGUAGES,
  negotiateLanguage,
  notifyMigrations,
  preferredLanguage,
  render,
  type MessageKey,
  type Recipient,
} from '../src/index.js';
import { placeholdersOf } from '../src/internals.js';
import { parseAcceptLanguage } from '../src/languages.js';
import { TEST_OPTIONS } from './helpers.js';

const KEYS = Object.keys(CATALOGUES.en) as MessageKey[];
const sorted = (a: string[]) => [...a].sort();

describe('the catalogues', () => {
  it('have every key of the English one, and only those, in every language: none empty, each with the same placeholders', () => {
    expect(KEYS.length).toBeGreaterThan(50);
    for (const lang of LANGUAGES) {
      const texts = CATALOGUES[lang] as Record<string, unknown>;
      expect(sorted(Object.keys(texts)), lang).toEqual(sorted(KEYS));
      for (const key of KEYS) {
        const text = texts[key];
        expect(typeof text === 'string' && text.trim().length > 0, `${lang} ${key} is empty`).toBe(true);
        expect(text, `${lang} ${key}: no spaces around it`).toBe((text as string).trim());
        expect(sorted(placeholdersOf(text as string)), `${lang} ${key}: its placeholders`).toEqual(
          sorted(placeholdersOf(CATALOGUES.en[key])),
        );
        // Only {{name}} placeholders: a stray brace would be sent as it is.
        expect(
          (text as string).replace(/\{\{[a-zA-Z][a-zA-Z0-9]*\}\}/g, '').replace(/\{"[a-z]+": "…"\}/g, ''),
          `${lang} ${key}`,
        ).not.toMatch(/[{}]/);
      }
    }
  });

  it('are not the English texts again: a Swahili text differs from its English one, except codes and names', () => {
    const same = KEYS.filter((key) => CATALOGUES.sw[key] === CATALOGUES.en[key]);
    expect(same).toEqual([]);
  });

  it('put what a request asks for only where any noun phrase fits in every language: after a colon, or in parentheses', () => {
    for (const lang of LANGUAGES) {
      for (const key of KEYS) {
        const text = CATALOGUES[lang][key];
        for (const m of text.matchAll(/\{\{kindLabel\}\}/g)) {
          const [before, after] = [text.slice(0, m.index), text.slice(m.index + '{{kindLabel}}'.length)];
          expect(
            before.endsWith('(')
              ? after.startsWith(')')
              : before.endsWith(': ') && (after === '' || after.startsWith('.')),
            `${lang} ${key}`,
          ).toBe(true);
        }
      }
    }
  });

  it('are frozen: a text cannot be changed at run time', () => {
    expect(Object.isFrozen(CATALOGUES.sw)).toBe(true);
    expect(() => ((CATALOGUES.sw as Record<string, string>)['common.greeting'] = 'x')).toThrow(TypeError);
  });
});

// Every case of every kind, with every value its texts need: the cases a template chooses between.
const base = {
  name: 'Amina',
  businessName: 'Amina Shop',
  privacyContact: 'privacy@harakaflow.test',
  requestId: 'r-1',
  kind: 'access',
  dueDate: '2027-01-31 10:00 UTC',
};
const CASES: Record<string, Record<string, unknown>[]> = {
  'quota.warning': [
    { quota: 'free.minute', percent: 80, used: 48, limit: 60, resetAt: 'r', unsubscribeUrl: 'https://u.test' },
    {
      businessName: 'your account',
      quota: 'q',
      percent: 1,
      used: 1,
      limit: 2,
      resetAt: 'r',
      unsubscribeUrl: 'https://u.test',
    },
  ],
  'policy.upcoming': [{ version: 'v2', effectiveDate: '2027-01-01', policyUrl: 'https://p.test' }],
  'subprocessors.upcoming': [
    {
      changeType: 'added',
      effectiveDate: 'd',
      providerName: 'P',
      providerLocation: 'Kenya',
      dataCategories: 'phone number',
      purpose: 'SMS',
      noticeDays: '30',
      registerUrl: 'https://r.test',
      objectUrl: 'https://o.test',
    },
    {
      changeType: 'removed',
      effectiveDate: 'd',
      providerName: 'P',
      noticeDays: '30',
      registerUrl: 'https://r.test',
      objectUrl: 'https://o.test',
    },
    {
      change: 'From d, P will no longer process data for us.',
      effectiveDate: 'd',
      noticeDays: '30',
      registerUrl: 'https://r.test',
      objectUrl: 'https://o.test',
    },
  ],
  'privacy.request.updated': [
    { status: 'open', event: null, verified: true },
    { status: 'open', event: null, verified: false, code: '123456', codeExpiresAt: 'e', verifyUrl: 'https://v.test' },
    { status: 'open', event: null, verified: false },
    { status: 'in_progress', event: 'verified' },
    { status: 'open', event: 'verified' },
    { status: 'fulfilled', event: 'lifted', liftedBy: 'self' },
    { status: 'fulfilled', event: 'lifted', liftedBy: 'admin', reason: 'checked' },
    { status: 'open', event: 'extended', reason: 'many records' },
    { status: 'open', event: 'extended' },
    { status: 'fulfilled', exportUrl: 'https://x.test', exportExpiresAt: 'e' },
    {
      status: 'fulfilled',
      kind: 'deletion',
      receipt: 'legacy',
      receiptParts: [
        { part: 'audit', erased: 3, kept: 0 },
        { part: 'consent', erased: 1, kept: 2, keptReason: 'ledger' },
        { part: 'messages', erased: 0, kept: 1 },
      ],
      receiptJson: '{}',
      keysUrl: 'https://k.test',
    },
    { status: 'fulfilled', kind: 'deletion', receipt: 'audit: 3 erased' },
    { status: 'fulfilled' },
    { status: 'denied', reason: 'not found' },
    { status: 'denied' },
    { status: 'canceled' },
    { status: 'expired' },
  ],
  'account.email.verification': [{ name: 'there', code: 'ABCD', expiresAt: 'e', verifyPath: '/v' }],
  'webhook.endpoint_disabled': [
    {
      cause: 'gone',
      endpointOrigin: 'https://h.test',
      endpointId: 'e1',
      disabledAt: 'd',
      held: 3,
      enablePath: '/e',
      deliveriesPath: '/d',
      recoverPath: '/r',
    },
    {
      cause: 'failing',
      failingSince: 'f',
      endpointOrigin: 'https://h.test',
      endpointId: 'e1',
      disabledAt: 'd',
      held: 3,
      enablePath: '/e',
      deliveriesPath: '/d',
      recoverPath: '/r',
    },
    {
      cause: 'failing',
      endpointOrigin: 'https://h.test',
      endpointId: 'e1',
      disabledAt: 'd',
      held: 3,
      enablePath: '/e',
      deliveriesPath: '/d',
      recoverPath: '/r',
    },
    {
      reason: 'it answered 410 Gone',
      endpointOrigin: 'https://h.test',
      endpointId: 'e1',
      disabledAt: 'd',
      held: 3,
      enablePath: '/e',
      deliveriesPath: '/d',
      recoverPath: '/r',
    },
  ],
  'privacy.request.code': [{ code: '123456', expiresAt: 'e', verifyUrl: 'https://v.test' }],
  // Issue 32 item 3: contacts' requests routed to the businesses that hold the number.
  'privacy.request.forwarded': [
    {
      forwardedId: 'f',
      kind: 'deletion',
      phone: '+254711000222',
      dueDate: 'd',
      answerPath: '/v1/privacy/forwarded/f',
      listPath: '/v1/privacy/forwarded',
    },
  ],
  'privacy.contact.forwarded': [0, 1, 2].map((count) => ({
    requestId: 'r',
    kind: 'access',
    phone: '+254•••222',
    count,
    dueDays: 30,
  })),
  'privacy.contact.outcome': [
    ...[
      { outcome: 'fulfilled' },
      { outcome: 'fulfilled', note: 'done' },
      { outcome: 'fulfilled', business: 'Duka' },
      { outcome: 'fulfilled', note: 'done', business: 'Duka' },
    ],
    ...[
      { outcome: 'denied', note: 'no' },
      { outcome: 'denied', note: 'no', business: 'Duka' },
    ],
    ...[{ outcome: 'erased' }, { outcome: 'erased', business: 'Duka' }].map((o) => ({
      ...o,
      receiptParts: [{ part: 'messages', erased: 2, kept: 0 }],
      receiptJson: '{}',
      keysUrl: 'https://k.test',
    })),
  ].map((o) => ({ requestId: 'r', kind: 'deletion', phone: '+254•••222', note: '', business: '', ...o })),
  'account.deletion.scheduled': [
    { purgeDate: 'p', cancelPath: '/c' },
    { businessName: 'your account', purgeDate: 'p', cancelPath: '/c' },
  ],
};

describe('every kind, in every language', () => {
  it('renders each of its cases, with different words in each language, and uses every text of the catalogues', () => {
    expect(sorted(Object.keys(CASES))).toEqual(sorted(Object.keys(KINDS)));
    // The unsubscribe pages' texts are the pages' (test/notify.test.ts renders each in both languages).
    const used = new Set<string>(
      Object.keys(CATALOGUES.en).filter((k) => k.startsWith('request.kind.') || k.startsWith('unsubscribe.')),
    );
    for (const [kind, cases] of Object.entries(CASES)) {
      for (const data of cases) {
        const values: Record<string, unknown> = { ...base, ...data };
        const spec = KINDS[kind]!;
        const t = spec.template(values);
        used.add(t.subject);
        for (const b of t.blocks) {
          if (typeof b === 'string') used.add(b);
          else if ('label' in b) used.add(b.label);
        }
        spec.values?.(values, (key) => (used.add(key), ''));
        const [en, sw] = [render(kind, values, 'en'), render(kind, values, 'sw')];
        expect(en.lang).toBe('en');
        expect(sw.lang).toBe('sw');
        expect(sw.subject, kind).not.toBe(en.subject);
        expect(sw.text, kind).not.toBe(en.text);
        expect(sw.html).toContain('<html lang="sw">');
        // The same values in both: a code, a link, the request's id.
        for (const v of [values.code, values.verifyUrl, values.exportUrl, values.requestId].filter(
          (x) => typeof x === 'string' && en.text.includes(x),
        ))
          expect(sw.text).toContain(v);
      }
    }
    expect(KEYS.filter((k) => !used.has(k))).toEqual([]);
  });

  it('writes what a request asks for in the message’s language, and a receipt’s parts each in a sentence of that language', () => {
    const receipt = {
      ...base,
      kind: 'deletion',
      status: 'fulfilled',
      receipt: 'audit: 3 erased',
      receiptParts: [
        { part: 'audit', erased: 3, kept: 0 },
        { part: 'consent', erased: 1, kept: 2, keptReason: 'ledger' },
      ],
      receiptJson: '{"a":1}',
      keysUrl: 'https://k.test',
    };
    const sw = render('privacy.request.updated', receipt, 'sw');
    expect(sw.subject).toBe('HarakaFlow: ombi lako limetekelezwa (kufuta data yako)');
    expect(sw.text).toContain(
      'Kila sehemu ya huduma ilichofuta na ilichohifadhi: audit: imefuta rekodi 3; consent: imefuta rekodi 1, imehifadhi rekodi 2 (ledger)',
    );
    expect(render('privacy.request.updated', receipt, 'en').text).toContain(
      'What each part of the service erased and kept: audit: 3 erased; consent: 1 erased, 2 kept (ledger)',
    );
    // A row queued before `receiptParts`: the summary it carries, as it is.
    const { receiptParts: _parts, ...legacy } = receipt;
    expect(render('privacy.request.updated', legacy, 'en').text).toContain('erased and kept: audit: 3 erased');
  });

  it('writes English for no language, an unknown one, or anything else', () => {
    const data = { ...base, status: 'open', verified: true };
    const en = render('privacy.request.updated', data);
    expect(en.subject).toBe('HarakaFlow: we received your request (access to your data)');
    for (const lang of [null, undefined, 'fr', 'SW', 'sw-KE', 42, {}])
      expect(render('privacy.request.updated', data, lang)).toEqual(en);
  });

  it('greets nobody by name in any language when no name is known (the marks rows carry for the previous version)', () => {
    const data = { ...base, name: 'there', businessName: 'your account', purgeDate: 'p', cancelPath: '/c' };
    expect(render('account.deletion.scheduled', data, 'en').text).toMatch(
      /^Hello there,\n\nWe received a request to delete your account\./,
    );
    expect(render('account.deletion.scheduled', data, 'sw').text).toMatch(
      /^Habari,\n\nTumepokea ombi la kufuta akaunti yako\./,
    );
    expect(
      render('account.deletion.scheduled', { ...data, name: 'Wanjiru', businessName: 'Duka la Wanjiru' }, 'sw').text,
    ).toMatch(/^Habari Wanjiru,\n\nTumepokea ombi la kufuta akaunti ya Duka la Wanjiru\./);
  });
});

describe('Accept-Language', () => {
  it('prefers Swahili for sw, sw-KE and sw-TZ, and English otherwise, by weight, then by order', () => {
    const cases: [string | undefined, string][] = [
      ['sw-KE,en;q=0.5', 'sw'],
      ['sw', 'sw'],
      ['SW-tz', 'sw'],
      ['en-GB', 'en'],
      ['en-GB,en;q=0.9,sw;q=0.8', 'en'],
      ['fr-FR,fr;q=0.9,sw;q=0.5,en;q=0.4', 'sw'],
      ['fr, de', 'en'],
      ['*', 'en'],
      ['fr, *;q=0.5', 'en'],
      ['sw;q=0, *', 'en'],
      ['sw-KE;q=0', 'en'],
      ['sw-KE;q=0, sw;q=0.3, fr', 'sw'],
      ['en;q=0.5, sw;q=0.5', 'en'],
      ['sw;q=0.5, en;q=0.5', 'sw'],
      ['en;q=0.001, sw;q=0.0001', 'en'], // four decimals: not a qvalue, that entry is skipped
      ['sw;q=2, en;q=0.1', 'en'], // above 1: skipped
      ['swahili, en;q=0.1', 'en'], // "swahili" is no language code of ours
      ['  sw-KE ;  q=0.9 , en ; q=0.8', 'sw'],
      ['', 'en'],
      [undefined, 'en'],
    ];
    for (const [header, lang] of cases) expect(preferredLanguage(header), String(header)).toBe(lang);
    expect(parseAcceptLanguage('sw-KE,en;q=0.5,bad range;q=1,x;q=abc')).toEqual([
      { range: 'sw-ke', q: 1 },
      { range: 'en', q: 0.5 },
    ]);
    expect(negotiateLanguage('fr;q=0.9, sw;q=0.8', ['en', 'sw', 'fr'], 'en')).toBe('fr');
  });

  it('never throws and always answers a language of the catalogues, whatever the header (property)', () => {
    const range = fc.oneof(
      fc.constantFrom('sw', 'sw-KE', 'sw-TZ', 'en', 'en-GB', 'fr', '*', 'SW-ke', ''),
      fc.stringMatching(/^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}$/),
      fc.string({ maxLength: 12 }),
    );
    const q = fc.oneof(
      fc.constant(''),
      fc.constantFrom(';q=0', ';q=1', ';q=0.5', ';q=1.000', ';q=', ';q=1.5', ';Q=0.2', ' ; q=0.9'),
      fc.string({ maxLength: 8 }).map((s) => `;${s}`),
    );
    const header = fc.oneof(
      fc
        .array(
          fc.tuple(range, q).map(([r, w]) => r + w),
          { maxLength: 40 },
        )
        .map((parts) => parts.join(',')),
      fc.string({ maxLength: 2000 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
    );
    fc.assert(
      fc.property(header, (h) => {
        expect(LANGUAGES).toContain(preferredLanguage(h));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.anything().filter((h) => typeof h !== 'string'),
        (h) => {
          expect(preferredLanguage(h)).toBe('en');
        },
      ),
    );
  });

  it('answers Swahili whenever a Swahili range outweighs every other (property)', () => {
    const weight = fc.integer({ min: 1, max: 999 }).map((n) => n / 1000);
    fc.assert(
      fc.property(
        fc.constantFrom('sw', 'sw-KE', 'sw-TZ'),
        weight,
        fc.array(fc.tuple(fc.constantFrom('en', 'en-GB', 'fr', '*', 'de-DE'), weight), { maxLength: 6 }),
        fc.nat(6),
        (sw, top, others, at) => {
          const rest = others.map(([r, w]) => `${r};q=${Math.min(w, top - 0.001).toFixed(3)}`);
          rest.splice(Math.min(at, rest.length), 0, `${sw};q=${top.toFixed(3)}`);
          expect(preferredLanguage(rest.join(', '))).toBe('sw');
        },
      ),
    );
  });
});

describe('the language of a message, through the outbox', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase({ migrations: [notifyMigrations] });
  });
  afterAll(() => database.close());
  beforeEach(() => database.truncate('notify'));
  const people = new Map<string, Recipient>();

  async function build() {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const app = Fastify();
    await app.register(notify, {
      db: database.db,
      ...TEST_OPTIONS,
      smtpUrl: smtp.url,
      recipientOf: async (id) => people.get(id) ?? null,
    });
    await app.ready();
    onTestFinished(() => app.close());
    const drain = async () => {
      while ((await app.notify.dispatch()) > 0);
    };
    return { app, smtp, drain };
  }

  it('is the one chosen when it was queued, else the recipient’s, else English; kept on the row and sent as Content-Language', async () => {
    const { app, smtp, drain } = await build();
    const account = randomUUID();
    people.set(account, { address: 'wanjiru@example.test', name: 'Wanjiru', businessName: 'Duka', lang: 'sw' });
    const request = {
      requestId: 'r-7',
      kind: 'deletion',
      status: 'open',
      verified: true,
      dueDate: '2027-01-31 10:00 UTC',
    };
    const chosen = await app.notify.enqueue({
      kind: 'privacy.request.updated',
      to: 'asked@example.test',
      data: request,
      lang: 'sw',
    });
    const theirs = await app.notify.enqueue({
      kind: 'privacy.request.updated',
      accountId: account,
      data: { ...request, requestId: 'r-8' },
    });
    const overridden = await app.notify.enqueue({
      kind: 'privacy.request.updated',
      accountId: account,
      data: { ...request, requestId: 'r-9' },
      lang: 'en',
    });
    const unknown = await app.notify.enqueue({
      kind: 'privacy.request.updated',
      to: 'other@example.test',
      data: { ...request, requestId: 'r-10' },
      lang: 'fr',
    });
    const stored = resultRows<{ id: string; lang: string | null }>(
      await database.db.execute(sql`select id, lang from notify.outbox`),
    );
    expect(Object.fromEntries(stored.map((r) => [r.id, r.lang]))).toEqual({
      [chosen!]: 'sw',
      [theirs!]: 'sw',
      [overridden!]: 'en',
      [unknown!]: null,
    });
    await drain();
    const sent = (id: string) => smtp.received.find((m) => m.headers['x-harakaflow-notification-id'] === id)!;
    expect(sent(chosen!).headers.subject).toBe('HarakaFlow: tumepokea ombi lako (kufuta data yako)');
    expect(sent(chosen!).headers['content-language']).toBe('sw');
    expect(sent(chosen!).text).toMatch(
      /^Habari,\r?\n\r?\nTumepokea ombi lako: kufuta data yako\. Tutakujibu kufikia 2027-01-31 10:00 UTC/,
    );
    expect(sent(chosen!).html).toContain('<html lang="sw">');
    expect(sent(theirs!).text).toMatch(/^Habari Wanjiru,/);
    expect(sent(overridden!).headers.subject).toBe('HarakaFlow: we received your request (deletion of your data)');
    expect(sent(overridden!).headers['content-language']).toBe('en');
    expect(sent(unknown!).headers['content-language']).toBe('en');
  });

  it('sends a row queued before languages (no lang) in English', async () => {
    const { app, smtp, drain } = await build();
    const id = (await app.notify.enqueue({
      kind: 'privacy.request.code',
      to: 'old@example.test',
      data: { kind: 'access', code: '123456', expiresAt: 'e', verifyUrl: 'https://v.test' },
      lang: 'sw',
    }))!;
    await database.db.execute(sql`update notify.outbox set lang = null where id = ${id}`);
    await drain();
    expect(smtp.received[0]!.headers.subject).toBe('HarakaFlow: your code to confirm your privacy request');
    expect(smtp.received[0]!.headers['content-language']).toBe('en');
  });
});
