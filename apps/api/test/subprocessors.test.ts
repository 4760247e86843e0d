// Issue 32 item 4: the processor register (§5, §9) as data: served as JSON and as a page, checked
// when an operator supplies their own (SUBPROCESSORS_FILE), and its future changes announced to
// every account by email at least SUBPROCESSOR_NOTICE_DAYS before, with a link that opens an
// objection request about that change.
import { resultRows } from '@harakaflow/db';
import { startSmtp, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/index.js';
import { checkRegister, registerView, SUBPROCESSORS, type Subprocessor } from '../src/privacy/subprocessors.js';
import { signup, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const DAY = 86_400_000;
const dayIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
const provider = (over: Partial<Subprocessor> = {}): Subprocessor => ({
  id: 'sms-gateway',
  name: 'Example SMS Gateway Ltd',
  purpose: 'Sends one-time codes by SMS',
  dataCategories: ['phone number'],
  location: 'Kenya',
  transfer: { mechanism: 'none' },
  contractUrl: 'https://example.com/dpa',
  since: '2025-01-01',
  ...over,
});

describe('the register as data', () => {
  it("HarakaFlow's own register passes its own check, and lists providers of each kind §5 names", () => {
    expect(checkRegister(SUBPROCESSORS).problems).toEqual([]);
    const purposes = SUBPROCESSORS.map((p) => p.purpose).join(' ');
    for (const kind of ['infrastructure', 'payment processing', 'analytics']) expect(purposes).toContain(kind);
  });

  it('names every problem of a bad register, by entry and field, and takes none of it', () => {
    const { register, problems } = checkRegister([
      provider(),
      provider(), // the same id again
      provider({
        id: 'Bad Id',
        name: 'two\nlines',
        dataCategories: [],
        contractUrl: 'http://example.com/dpa',
        since: '2025-02-30',
      }),
      provider({ id: 'scc', transfer: { mechanism: 'scc' } }),
      provider({ id: 'until', until: '2024-12-31' }),
      { ...provider({ id: 'typo' }), untill: '2027-01-01' },
      provider({
        id: 'creds',
        contractUrl: 'https://user:pass@example.com/dpa',
        transfer: { mechanism: 'dpf', sccModule: 2 },
      }),
    ]);
    expect(register).toEqual([]);
    expect(problems).toEqual([
      'entry 1 (sms-gateway): id is used twice',
      'entry 2: id must be lower-case letters, digits and - (at most 63)',
      'entry 2: name must be one line of text (at most 500 characters)',
      'entry 2: dataCategories must list 1 to 30 categories, each one line of at most 100 characters',
      'entry 2: contractUrl must be an https URL without credentials',
      'entry 2: since must be a day, YYYY-MM-DD',
      'entry 3 (scc): transfer.sccModule must be 1, 2, 3 or 4 with mechanism scc',
      'entry 4 (until): until must be a day (YYYY-MM-DD) after since',
      'entry 5 (typo): unknown field "untill"',
      'entry 6 (creds): transfer.sccModule is for mechanism scc only',
      'entry 6 (creds): contractUrl must be an https URL without credentials',
    ]);
    expect(checkRegister({}).problems).toEqual(['must be a JSON array of providers']);
  });

  it('keeps the contract link as the URL parser read it, and refuses invisible and bidi characters in text (one name passing for another)', () => {
    expect(checkRegister([provider({ contractUrl: 'https://example.com/d\tpa\n' })]).register[0]!.contractUrl).toBe(
      'https://example.com/dpa',
    );
    for (const name of ['Meta\u200f', 'Me\u200bta', '\u061cMeta', 'Meta\ufeff']) {
      expect(checkRegister([provider({ name })]).problems, JSON.stringify(name)).toEqual([
        'entry 0 (sms-gateway): name must be one line of text (at most 500 characters)',
      ]);
    }
  });

  it('never throws on any JSON, and what it accepts is a register the page can show (property)', () => {
    const entry = fc.record(
      {
        id: fc.oneof(fc.constantFrom('a', 'sms-1', 'x-y'), fc.string()),
        name: fc.string(),
        purpose: fc.string(),
        dataCategories: fc.array(fc.string(), { maxLength: 3 }),
        location: fc.string(),
        transfer: fc.record(
          {
            mechanism: fc.constantFrom('none', 'adequacy', 'scc', 'dpf', 'other'),
            sccModule: fc.constantFrom(1, 2, 5, undefined),
          },
          { requiredKeys: ['mechanism'] },
        ),
        contractUrl: fc.constantFrom('https://example.com/x', 'http://example.com', 'not a url'),
        since: fc.constantFrom('2025-01-01', '2025-13-01', 'soon'),
        until: fc.constantFrom('2024-01-01', '2026-01-01', undefined),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(entry, { maxLength: 4 })), (input) => {
        const { register, problems } = checkRegister(input);
        if (problems.length) expect(register).toEqual([]);
        for (const p of register) {
          expect(p.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
          expect(p.dataCategories.length).toBeGreaterThan(0);
          expect(new URL(p.contractUrl).protocol).toBe('https:');
          if (p.until) expect(p.until > p.since).toBe(true);
        }
        expect(new Set(register.map((p) => p.id)).size).toBe(register.length);
      }),
    );
  });

  it('shows who processes data on a day: not one that starts later or has stopped; the changes still to come', () => {
    const register = [
      provider({ id: 'old', until: '2026-01-01' }),
      provider({ id: 'now' }),
      provider({ id: 'next', since: '2027-03-01' }),
      provider({ id: 'leaving', until: '2027-02-01' }),
    ];
    const view = registerView(register, '2026-12-07');
    expect(view.current.map((p) => p.id)).toEqual(['now', 'leaving']);
    expect(view.upcoming).toEqual([
      { change: 'removed', effectiveDate: '2027-02-01', id: 'leaving', name: 'Example SMS Gateway Ltd' },
      { change: 'added', effectiveDate: '2027-03-01', id: 'next', name: 'Example SMS Gateway Ltd' },
    ]);
  });
});

describe('SUBPROCESSORS_FILE and SUBPROCESSOR_NOTICE_DAYS', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hf-subprocessors-'));
  const file = (content: string) => {
    const path = join(dataDir, `register-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, content);
    return path;
  };
  const problemsOf = (env: Record<string, string>) => {
    try {
      loadConfig({ DATA_DIR: dataDir, ...env });
      return [];
    } catch (error) {
      return (error as { problems?: string[] }).problems ?? [String(error)];
    }
  };

  it("reads an operator's register; a bad one stops the startup naming each problem; a missing file or bad JSON is named", () => {
    const good = file(JSON.stringify([provider()]));
    expect(loadConfig({ DATA_DIR: dataDir, SUBPROCESSORS_FILE: good }).subprocessors).toEqual([provider()]);
    expect(loadConfig({ DATA_DIR: dataDir }).subprocessors).toBeUndefined();
    expect(
      problemsOf({ SUBPROCESSORS_FILE: file(JSON.stringify([provider({ transfer: { mechanism: 'scc' } })])) }),
    ).toEqual([
      expect.stringMatching(/^SUBPROCESSORS_FILE .*entry 0 \(sms-gateway\): transfer\.sccModule must be 1, 2, 3 or 4/),
    ]);
    expect(problemsOf({ SUBPROCESSORS_FILE: file('[{') })).toEqual([
      expect.stringMatching(/^SUBPROCESSORS_FILE is not JSON/),
    ]);
    expect(problemsOf({ SUBPROCESSORS_FILE: join(dataDir, 'nowhere.json') })).toEqual([
      expect.stringMatching(/^SUBPROCESSORS_FILE cannot be read \(ENOENT\)/),
    ]);
  });

  it('takes 14 to 365 days of notice, 30 by default', () => {
    expect(loadConfig({ DATA_DIR: dataDir }).subprocessorNoticeDays).toBe(30);
    expect(loadConfig({ DATA_DIR: dataDir, SUBPROCESSOR_NOTICE_DAYS: '14' }).subprocessorNoticeDays).toBe(14);
    for (const bad of ['13', '366', 'thirty'])
      expect(problemsOf({ SUBPROCESSOR_NOTICE_DAYS: bad }), bad).toEqual([
        expect.stringContaining('SUBPROCESSOR_NOTICE_DAYS'),
      ]);
  });
});

describe('GET /v1/privacy/subprocessors and /privacy/subprocessors', () => {
  it("serve the register to anyone: today's providers, the changes to come, every value escaped on the page", async () => {
    const register = [
      provider({ id: 'now', name: 'Gateway <script>alert(1)</script> & Co' }),
      provider({ id: 'next', name: 'Next Hosting', since: dayIn(60), transfer: { mechanism: 'scc', sccModule: 2 } }),
    ];
    const { app } = await testApp(database, { subprocessors: register });
    onTestFinished(() => app.close());
    const json = await app.inject('/v1/privacy/subprocessors');
    expect(json.statusCode).toBe(200);
    expect(json.headers['cache-control']).toBe('public, max-age=300');
    const body = json.json();
    expect(body).toEqual({
      asOf: dayIn(0),
      noticeDays: 30,
      subprocessors: [register[0]],
      upcoming: [{ change: 'added', effectiveDate: dayIn(60), id: 'next', name: 'Next Hosting' }],
    });
    const page = await app.inject('/privacy/subprocessors');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('Gateway &#60;script&#62;alert(1)&#60;/script&#62; &#38; Co');
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain(`From ${dayIn(60)}, Next Hosting (Kenya) will process phone number for us`);
    expect(page.body).toContain(
      `/privacy/request?kind=objection&amp;about=subprocessors%3Anext%3Aadded%3A${dayIn(60)}`,
    );
  });
});

describe('the register page in English and Swahili (issue 32 item 7)', () => {
  it("answers in the language of Accept-Language (sw-KE: Swahili, en-GB: English), the hf_lang cookie or its ?lang= switch; the register's data as written", async () => {
    const register = [
      provider({
        id: 'now',
        name: 'Duka <b>Hosting</b>',
        transfer: { mechanism: 'scc', sccModule: 2, note: 'Operator note & more' },
        until: dayIn(90),
      }),
      provider({ id: 'next', name: 'Next Hosting', since: dayIn(60) }),
    ];
    const { app } = await testApp(database, { subprocessors: register });
    onTestFinished(() => app.close());
    const htmlLang = (body: string) => /<html lang="([^"]+)">/.exec(body)?.[1];

    const sw = await app.inject({ url: '/privacy/subprocessors', headers: { 'accept-language': 'sw-KE,en;q=0.5' } });
    expect(sw.statusCode).toBe(200);
    expect(htmlLang(sw.body)).toBe('sw');
    expect(sw.headers['content-language']).toBe('sw');
    expect(sw.headers.vary).toMatch(/accept-language/i);
    expect(sw.headers.vary).toMatch(/cookie/i);
    expect(sw.body).toContain('<h1>Watoa huduma wetu</h1>');
    expect(sw.body).toContain('<th scope="col">Mtoa huduma</th>');
    expect(sw.body).toContain('<h2>Mabadiliko yaliyotangazwa</h2>');
    // A change: one whole Swahili sentence, the register's values in it as written (escaped).
    expect(sw.body).toContain(
      `Kuanzia ${dayIn(60)}, Next Hosting (Kenya) itachakata phone number kwa niaba yetu, kwa madhumuni haya: Sends one-time codes by SMS.`,
    );
    expect(sw.body).toContain('>Pinga mabadiliko haya</a>');
    expect(sw.body).toContain('Duka &#60;b&#62;Hosting&#60;/b&#62;');
    expect(sw.body).toContain(
      'Vifungu vya Kawaida vya Mkataba (Standard Contractual Clauses, moduli 2). Operator note &#38; more',
    );
    expect(sw.body).toContain(`2025-01-01 hadi ${dayIn(90)}`);
    expect(sw.body).not.toContain('Announced changes');
    expect(sw.body).toContain('<a href="/privacy/subprocessors?lang=en" lang="en" hreflang="en">English</a>');
    expect(sw.body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);

    const en = await app.inject({ url: '/privacy/subprocessors', headers: { 'accept-language': 'en-GB' } });
    expect(htmlLang(en.body)).toBe('en');
    expect(en.headers['content-language']).toBe('en');
    expect(en.body).toContain('<h1>Our service providers</h1>');
    expect(en.body).toContain(
      `From ${dayIn(60)}, Next Hosting (Kenya) will process phone number for us: Sends one-time codes by SMS.`,
    );
    expect(en.body).toContain(`2025-01-01 to ${dayIn(90)}`);
    expect(en.body).toContain('Standard Contractual Clauses (module 2). Operator note &#38; more');

    // The switch wins over the cookie and the header, and its objection links and centre link carry it.
    const chosen = await app.inject({
      url: '/privacy/subprocessors?lang=sw',
      headers: { 'accept-language': 'en-GB', cookie: 'hf_lang=en' },
    });
    expect(htmlLang(chosen.body)).toBe('sw');
    expect(chosen.body).toContain(
      `/privacy/request?kind=objection&amp;about=subprocessors%3Anext%3Aadded%3A${dayIn(60)}&amp;lang=sw`,
    );
    expect(chosen.body).toContain('<a href="/privacy?lang=sw">Kituo cha faragha</a>');
    expect(
      htmlLang(
        (await app.inject({ url: '/privacy/subprocessors?lang=en', headers: { 'accept-language': 'sw' } })).body,
      ),
    ).toBe('en');
    expect(
      htmlLang(
        (
          await app.inject({
            url: '/privacy/subprocessors',
            headers: { 'accept-language': 'en-GB', cookie: 'hf_lang=sw' },
          })
        ).body,
      ),
    ).toBe('sw');
    expect(
      htmlLang(
        (await app.inject({ url: '/privacy/subprocessors?lang=%3Cb%3E', headers: { 'accept-language': 'sw' } })).body,
      ),
    ).toBe('sw');
  });
});

describe('change notices (§11)', () => {
  const rows = async (query: ReturnType<typeof sql>) =>
    resultRows<Record<string, unknown>>(await database.db.execute(query));

  it('email every account once, 30 days ahead or more, across two instances and a restart; the link opens an objection about that change', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const first = await testApp(database, { smtpUrl: smtp.url });
    const accounts = [await signup(first.app), await signup(first.app)];
    await first.app.close();
    // A provider that starts in 40 days, and analytics stopping in 45 (a register the startup's check accepts).
    const register = [
      ...SUBPROCESSORS.map((p) => (p.id === 'analytics' ? { ...p, until: dayIn(45) } : p)),
      provider({ id: 'sms', since: dayIn(40) }),
    ];
    expect(checkRegister(register).problems).toEqual([]);
    const [one, two] = await Promise.all([
      testApp(database, { smtpUrl: smtp.url, subprocessors: register }),
      testApp(database, { smtpUrl: smtp.url, subprocessors: register }),
    ]);
    const restarted = await testApp(database, { smtpUrl: smtp.url, subprocessors: register });
    for (const { app } of [one, two, restarted]) {
      await until(async () => {
        while ((await app.notify.dispatch()) > 0);
        return (await app.notify.counts()).pending === 0;
      });
    }
    await Promise.all([one, two].map(({ app }) => app.close()));
    const notices = smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === 'subprocessors.upcoming');
    for (const { account } of accounts)
      expect(
        notices
          .filter((m) => m.to[0] === account.email)
          .map((m) => m.headers.subject!)
          .sort(),
        account.email,
      ).toEqual([
        `HarakaFlow service providers: a change on ${dayIn(40)}`,
        `HarakaFlow service providers: a change on ${dayIn(45)}`,
      ]);
    const added = notices.find((m) => m.headers.subject!.endsWith(dayIn(40)))!;
    expect(added.text).toContain(`From ${dayIn(40)}, Example SMS Gateway Ltd (Kenya) will process phone number for us`);
    expect(added.text).toContain('https://api.harakaflow.test/privacy/subprocessors');
    const objectUrl = /https:\/\/api\.harakaflow\.test(\/privacy\/request\?kind=objection&about=[^\s>\]]+)/.exec(
      added.text,
    )![1]!;
    // The link opens the public form on an objection, the change's own words as the details.
    const form = await restarted.app.inject(objectUrl);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('<option value="objection" selected>');
    expect(form.body).toContain(
      `I object to this change of your service providers (subprocessors:sms:added:${dayIn(40)}): From ${dayIn(40)}, Example SMS Gateway Ltd (Kenya)`,
    );
    // A link naming no change of the register carries no text of its own into the form.
    const forged = await restarted.app.inject('/privacy/request?kind=objection&about=Please%20wire%20money');
    expect(forged.body).toContain('<option value="objection" selected>');
    expect(forged.body).not.toContain('wire money');
    await restarted.app.close();
    // One record of each change's notices, however many instances queued them.
    const keys = [`subprocessors:analytics:removed:${dayIn(45)}`, `subprocessors:sms:added:${dayIn(40)}`];
    expect(
      await rows(
        sql`select version, recipients from notify.policy_notices where version in (${keys[0]}, ${keys[1]}) order by version`,
      ),
    ).toEqual([
      { version: keys[0], recipients: expect.any(Number) },
      { version: keys[1], recipients: expect.any(Number) },
    ]);
  });

  it('stop the startup when a change was never announced and takes effect sooner than the notice promised', async () => {
    const soon = [...SUBPROCESSORS, provider({ id: 'rushed', since: dayIn(20) })];
    await expect(testApp(database, { subprocessors: soon })).rejects.toMatchObject({
      code: 'HF_NOTIFY_NOTICE_TOO_LATE',
      message: expect.stringContaining(
        `the processor register change "subprocessors:rushed:added:${dayIn(20)}" takes effect in`,
      ),
    });
    // With SUBPROCESSOR_NOTICE_DAYS=14 the same change is announced.
    const { app } = await testApp(database, { subprocessors: soon, subprocessorNoticeDays: 14 });
    await app.close();
    const [state] = await rows(
      sql`select completed_at from notify.policy_notices where version = ${`subprocessors:rushed:added:${dayIn(20)}`}`,
    );
    expect(state?.completed_at).toBeTruthy();
  });
});
