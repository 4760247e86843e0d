// @harakaflow/notify against a real SMTP server (smtp-server on a loopback port) and real Postgres.
import { createDatabase, resultRows } from '@harakaflow/db';
import { captureLogs, postgresUrl, startSmtp, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import fc from 'fast-check';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import notify, { notifyMigrations, oneLine, render, type NotifyOptions, type Recipient } from '../src/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('notify'));

const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const people = new Map<string, Recipient>();

async function build(options: Partial<NotifyOptions> = {}, db = database.db) {
  const logs = captureLogs();
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
  await app.register(notify, {
    db,
    from: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    unsubscribeSecrets: [SECRET],
    recipientOf: async (id) => people.get(id) ?? null,
    dispatch: false,
    retrySchedule: [10, 10, 10],
    ...options,
  });
  await app.ready();
  onTestFinished(() => app.close());
  return { app, logs };
}

const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const quota = (accountId: string) => ({
  kind: 'quota.warning',
  accountId,
  data: { quota: 'free.minute', percent: 80, used: 48, limit: 60, resetAt: '2026-12-01T12:01:00Z' },
});
const drain = async (app: { notify: { dispatch(n?: number): Promise<number> } }) => {
  while ((await app.notify.dispatch()) > 0);
};

describe('sending through SMTP', () => {
  it('delivers both parts with the Message-ID, List-Unsubscribe on optional kinds only, and every value escaped in HTML', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const { app } = await build({ smtpUrl: smtp.url });
    const a = randomUUID();
    people.set(a, { address: 'amina@example.com', name: 'Amina', businessName: '<script>alert(1)</script> & Sons' });
    const id = (await app.notify.enqueue(quota(a)))!;
    await app.notify.enqueue({
      kind: 'policy.upcoming',
      accountId: a,
      data: { version: '2027-01-01', effectiveDate: '2027-01-01', policyUrl: 'https://harakaflow.test/privacy' },
    });
    await drain(app);
    expect(smtp.received).toHaveLength(2);
    const [warning, policy] = [
      smtp.received.find((m) => m.headers['x-harakaflow-notification'] === 'quota.warning')!,
      smtp.received.find((m) => m.headers['x-harakaflow-notification'] === 'policy.upcoming')!,
    ];
    expect(warning.to).toEqual(['amina@example.com']);
    expect(warning.headers.subject).toBe('HarakaFlow: 80% of your free.minute limit used');
    expect(warning.headers['message-id']).toBe(`<${id}@harakaflow.test>`);
    expect(warning.headers['list-unsubscribe']).toMatch(
      /^<https:\/\/api\.harakaflow\.test\/v1\/notifications\/unsubscribe\?token=[^>]+>$/,
    );
    expect(warning.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(warning.text).toContain('<script>alert(1)</script> & Sons has used 48 of its 60');
    expect(warning.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons has used 48');
    expect(warning.html).not.toContain('<script>');
    expect(policy.headers['list-unsubscribe']).toBeUndefined(); // a legal notice cannot be turned off
    const [row] = await rows(sql`select status, provider_message_id, attempts from notify.outbox where id = ${id}`);
    expect(row).toMatchObject({ status: 'sent', provider_message_id: expect.stringMatching(/^Q[12]$/), attempts: 1 });
  });

  it('signs with DKIM when given a key (the From domain, the selector, the headers that matter)', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { app } = await build({
      smtpUrl: smtp.url,
      dkim: {
        domainName: 'harakaflow.test',
        keySelector: 'hf2026',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    await app.notify.enqueue({
      kind: 'policy.upcoming',
      to: 'dkim@example.com',
      data: { version: 'v', effectiveDate: 'd', policyUrl: 'https://x.test' },
    });
    await drain(app);
    const signature = smtp.received[0]!.headers['dkim-signature']!;
    expect(signature).toMatch(/\bd=harakaflow\.test;/);
    expect(signature).toMatch(/\bs=hf2026;/);
    expect(signature).toMatch(/\bh=[^;]*\bFrom\b/i);
    expect(signature).toMatch(/\bh=[^;]*\bSubject\b/i);
  });

  it('retries a temporary refusal (451) and delivers once', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const { app } = await build({ smtpUrl: smtp.url });
    const a = randomUUID();
    people.set(a, { address: 'baraka@example.com', name: 'Baraka' });
    smtp.answers.push(451);
    const id = (await app.notify.enqueue(quota(a)))!;
    expect(await app.notify.dispatch()).toBe(1);
    expect(smtp.received).toHaveLength(0);
    const [waiting] = await rows(sql`select status, last_error from notify.outbox where id = ${id}`);
    expect(waiting).toMatchObject({ status: 'pending', last_error: 'EENVELOPE 451' });
    await until(async () => (await app.notify.dispatch()) > 0 || smtp.received.length > 0);
    await drain(app);
    expect(smtp.received).toHaveLength(1);
    expect(
      (
        await rows(
          sql`select outcome, smtp_code from notify.attempts where notification_id = ${id} order by attempted_at`,
        )
      ).map((r) => [r.outcome, r.smtp_code]),
    ).toEqual([
      ['temporary', 451],
      ['sent', 250],
    ]);
  });

  it('marks an address refused for good (550) as bouncing, stops, and sends it nothing optional until cleared (required notices are still tried)', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const { app } = await build({ smtpUrl: smtp.url });
    const a = randomUUID();
    people.set(a, { address: 'Gone@Example.com', name: 'Gone' });
    smtp.answers.push(550);
    const first = (await app.notify.enqueue(quota(a)))!;
    await drain(app);
    await new Promise((r) => setTimeout(r, 30));
    await drain(app);
    expect(smtp.received).toHaveLength(0);
    expect((await rows(sql`select status, attempts from notify.outbox where id = ${first}`))[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
    expect(await rows(sql`select address, smtp_code from notify.addresses`)).toEqual([
      { address: 'gone@example.com', smtp_code: 550 },
    ]);
    const second = (await app.notify.enqueue(quota(a)))!;
    await drain(app);
    expect((await rows(sql`select status, last_error from notify.outbox where id = ${second}`))[0]).toMatchObject({
      status: 'suppressed',
      last_error: 'the address is bouncing',
    });
    // Issue 34 item 4: a legal notice is still tried (and, refused again, shown to the account instead).
    smtp.answers.push(550);
    const third = (await app.notify.enqueue({
      kind: 'policy.upcoming',
      accountId: a,
      data: { version: 'v', effectiveDate: 'd', policyUrl: 'https://x.test' },
    }))!;
    await drain(app);
    expect((await rows(sql`select status, attempts from notify.outbox where id = ${third}`))[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
    });
    expect(await app.notify.notices(a)).toMatchObject([{ id: third, kind: 'policy.upcoming', reason: 'bounced' }]);
    expect(await app.notify.counts()).toEqual({ pending: 0, failed: 2, bouncing: 1 });
    expect(await app.notify.retryFailed()).toBe(0); // still bouncing
    expect(await app.notify.retryFailed({ includeBouncing: true })).toBe(2);
    await drain(app);
    expect(smtp.received).toHaveLength(2);
    expect(await app.notify.counts()).toEqual({ pending: 0, failed: 0, bouncing: 0 });
  });

  it('loses nothing while the server is gone, and sends when it is back', async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    await smtp.close();
    // Retries enough for a loaded machine: the schedule must not run out before the server is back.
    const { app } = await build({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      retrySchedule: Array.from({ length: 100 }, () => 50),
    });
    const a = randomUUID();
    people.set(a, { address: 'later@example.com' });
    const id = (await app.notify.enqueue(quota(a)))!;
    expect(await app.notify.dispatch()).toBe(1);
    const [waiting] = await rows(sql`select status, last_error from notify.outbox where id = ${id}`);
    expect(waiting).toMatchObject({ status: 'pending', last_error: expect.stringMatching(/^E[A-Z]+$/) });
    const back = await startSmtp(port);
    onTestFinished(() => back.close());
    await until(async () => {
      await app.notify.dispatch();
      return back.received.length > 0;
    });
    expect(back.received.map((m) => m.headers['message-id'])).toEqual([`<${id}@harakaflow.test>`]);
  });
});

describe('across replicas', () => {
  it.skipIf(!postgresUrl)('two dispatchers on Postgres send 200 notifications exactly once', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const pools = await Promise.all([
      createDatabase({ url: database.url, max: 4 }),
      createDatabase({ url: database.url, max: 4 }),
    ]);
    onTestFinished(async () => {
      for (const p of pools) await p.close();
    });
    const one = (await build({ smtpUrl: smtp.url, dispatch: { intervalMs: 5, batch: 7 } }, pools[0]!.db)).app;
    const two = (await build({ smtpUrl: smtp.url, dispatch: { intervalMs: 5, batch: 7 } }, pools[1]!.db)).app;
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const a = randomUUID();
      people.set(a, { address: `p${i}@example.com` });
      ids.push((await (i % 2 ? one : two).notify.enqueue(quota(a)))!);
    }
    await until(() => smtp.received.length >= 200);
    await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive now
    const seen = smtp.received.map((m) => m.headers['message-id']);
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
    expect(new Set(seen)).toEqual(new Set(ids.map((id) => `<${id}@harakaflow.test>`)));
  });
});

describe('policy notices (§11)', () => {
  const DAY = 86_400_000;
  const versions = (daysAhead: number) => [
    { version: '2025-01-01', publishedAt: '2025-01-01T00:00:00Z', effectiveAt: '2025-01-01T00:00:00Z', material: true },
    {
      version: 'next',
      publishedAt: new Date(Date.now() - DAY).toISOString(),
      effectiveAt: new Date(Date.now() + daysAhead * DAY).toISOString(),
      material: true,
    },
  ];
  const accounts = Array.from({ length: 45 }, (_, i) => ({
    accountId: `acct-${String(i).padStart(3, '0')}`,
    address: `a${i}@example.com`,
    name: `A${i}`,
  }));
  const pager = async (after: string | null) =>
    accounts.filter((a) => after === null || a.accountId > after).slice(0, 10);

  it('queues exactly one notice per account across two instances and restarts, 15 days ahead', async () => {
    const policies = { versions: versions(15), recipients: pager, policyUrl: 'https://harakaflow.test/privacy' };
    const [{ app: one }, { app: two }] = await Promise.all([
      build({ policies, transport: nullTransport() }),
      build({ policies, transport: nullTransport() }),
    ]);
    await Promise.all([
      one.notify.schedulePolicyNotices(policies.versions, pager, policies),
      two.notify.schedulePolicyNotices(policies.versions, pager, policies),
    ]);
    await build({ policies, transport: nullTransport() }); // a restart
    const queued = await rows(
      sql`select account_id, count(*)::int as n from notify.outbox where kind = 'policy.upcoming' group by account_id`,
    );
    expect(queued).toHaveLength(45);
    expect(queued.every((r) => r.n === 1)).toBe(true);
    const [state] = await rows(
      sql`select completed_at is not null as done from notify.policy_notices where version = 'next'`,
    );
    expect(state).toEqual({ done: true });
  });

  it('stops startup, naming the version, when its notices can no longer come 14 days ahead', async () => {
    const instance = Fastify();
    onTestFinished(() => instance.close());
    await instance.register(notify, {
      db: database.db,
      from: 'x <n@harakaflow.test>',
      publicUrl: 'https://x.test',
      unsubscribeSecrets: [SECRET],
      transport: nullTransport(),
      dispatch: false,
      policies: { versions: versions(10), recipients: pager, policyUrl: 'https://x.test/p' },
    });
    await expect(instance.ready()).rejects.toMatchObject({
      code: 'HF_NOTIFY_NOTICE_TOO_LATE',
      message: expect.stringContaining('"next"'),
    });
    expect(await rows(sql`select 1 from notify.outbox`)).toHaveLength(0);
  });
});

function nullTransport() {
  const sent: string[] = [];
  return {
    description: 'null',
    sent,
    send: async (m: { id: string }) => (
      sent.push(m.id),
      { outcome: 'sent' as const, providerMessageId: null, smtpCode: 250 }
    ),
    close: () => {},
  };
}

describe('preferences and one-click unsubscribe (RFC 8058)', () => {
  it('turns quota warnings off from the link, by POST only; legal notices cannot be turned off', async () => {
    const transport = nullTransport();
    const { app } = await build({ transport });
    const a = randomUUID();
    people.set(a, { address: 'c@example.com' });
    const url = app.notify.unsubscribeUrl(a, 'quota.warning');
    const path = `${new URL(url).pathname}${new URL(url).search}`;
    const page = await app.inject({ url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect(await app.notify.preferences(a)).toEqual({ 'quota.warning': true }); // GET changed nothing
    const post = await app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(post.json()).toEqual({ unsubscribed: true, kind: 'quota.warning' });
    expect(await app.notify.preferences(a)).toEqual({ 'quota.warning': false });
    const id = (await app.notify.enqueue(quota(a)))!;
    await drain(app);
    expect((await rows(sql`select status, last_error from notify.outbox where id = ${id}`))[0]).toMatchObject({
      status: 'suppressed',
      last_error: 'turned off by the account',
    });
    expect(transport.sent).toHaveLength(0);
    for (const bad of [
      `${path}x`,
      path.replace(/[A-Za-z0-9_-]{43}$/, 'A'.repeat(43)),
      '/v1/notifications/unsubscribe?token=garbage',
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: bad,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().code).toBe('HF_NOTIFY_UNSUBSCRIBE_INVALID');
    }
    await expect(app.notify.setPreference(a, 'policy.upcoming', false)).rejects.toMatchObject({
      code: 'HF_NOTIFY_NOT_OPTIONAL',
      statusCode: 400,
    });
    await expect(app.notify.setPreference(a, 'nope', false)).rejects.toMatchObject({ code: 'HF_NOTIFY_UNKNOWN_KIND' });
    await expect(app.notify.enqueue({ kind: 'nope' })).rejects.toMatchObject({ code: 'HF_NOTIFY_UNKNOWN_KIND' });
  });

  // Issue 32 item 7: the pages a person reaches from the link, in English and Swahili.
  it('shows its pages in the language of Accept-Language (sw-KE: Swahili, en-GB: English) or of its ?lang= switch, which the button keeps; the button is answered with a page', async () => {
    const { app } = await build({ transport: nullTransport() });
    const htmlLang = (body: string) => /<html lang="([^"]+)">/.exec(body)?.[1];
    const a = randomUUID();
    const url = new URL(app.notify.unsubscribeUrl(a, 'quota.warning'));
    const path = `${url.pathname}${url.search}`;
    const token = url.searchParams.get('token')!;

    const sw = await app.inject({ url: path, headers: { 'accept-language': 'sw-KE,en;q=0.5' } });
    expect(sw.statusCode).toBe(200);
    expect(htmlLang(sw.body)).toBe('sw');
    expect(sw.headers['content-language']).toBe('sw');
    expect(sw.headers.vary).toMatch(/accept-language/i);
    expect(sw.body).toContain('<h1>Jiondoe kwenye arifa</h1>');
    expect(sw.body).toContain('<button type="submit">Jiondoe</button>');
    expect(sw.body).not.toContain('Unsubscribe</button>');
    expect(sw.body).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i);
    // The switch: English by its own name, this page in English; the form posts the link itself (no language chosen).
    expect(sw.body).toContain(
      `<a href="/v1/notifications/unsubscribe?token=${token}&amp;lang=en" lang="en" hreflang="en">English</a>`,
    );
    expect(sw.body).toContain(`action="/v1/notifications/unsubscribe?token=${token}"`);

    const en = await app.inject({ url: path, headers: { 'accept-language': 'en-GB' } });
    expect(htmlLang(en.body)).toBe('en');
    expect(en.headers['content-language']).toBe('en');
    expect(en.body).toContain('<h1>Unsubscribe</h1>');
    expect(en.body).toContain(
      'Stop these optional HarakaFlow notifications? Security and legal notices are always sent.',
    );
    expect(htmlLang((await app.inject({ url: path })).body)).toBe('en');

    // ?lang= wins over the header, and the form's action keeps it for the answer.
    const chosen = await app.inject({ url: `${path}&lang=sw`, headers: { 'accept-language': 'en-GB' } });
    expect(htmlLang(chosen.body)).toBe('sw');
    expect(chosen.body).toContain(`action="/v1/notifications/unsubscribe?token=${token}&amp;lang=sw"`);
    expect(htmlLang((await app.inject({ url: `${path}&lang=en`, headers: { 'accept-language': 'sw' } })).body)).toBe(
      'en',
    );
    // A choice it does not know: the header decides; nothing of it is echoed.
    const unknown = await app.inject({ url: `${path}&lang=%3Cb%3E`, headers: { 'accept-language': 'sw' } });
    expect(htmlLang(unknown.body)).toBe('sw');
    expect(unknown.body).not.toContain('<b>');

    // The button (a browser's Accept names HTML): a page in the chosen language; a client's one-click POST stays JSON.
    const form = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
      'accept-language': 'en-GB',
    };
    const done = await app.inject({
      method: 'POST',
      url: `${path}&lang=sw`,
      headers: form,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(done.statusCode).toBe(200);
    expect(htmlLang(done.body)).toBe('sw');
    expect(done.headers['content-language']).toBe('sw');
    expect(done.body).toContain('<h1>Umejiondoa</h1>');
    expect(await app.notify.preferences(a)).toEqual({ 'quota.warning': false });
    const doneEn = await app.inject({
      method: 'POST',
      url: path,
      headers: form,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(doneEn.body).toContain('<h1>You are unsubscribed</h1>');
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/notifications/unsubscribe?token=garbage',
      headers: { ...form, 'accept-language': 'sw-KE' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(bad.statusCode).toBe(400);
    expect(htmlLang(bad.body)).toBe('sw');
    expect(bad.body).toContain('<h1>Kiungo hiki hakifanyi kazi tena</h1>');
    expect(bad.body).toContain('siku 90');
    const badEn = await app.inject({
      method: 'POST',
      url: '/v1/notifications/unsubscribe?token=garbage',
      headers: form,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(badEn.body).toContain('<h1>This link no longer works</h1>');
    const client = await app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'sw' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(client.json()).toEqual({ unsubscribed: true, kind: 'quota.warning' });
  });
});

describe('without SMTP: .eml files', () => {
  it('writes each message as an .eml (0600, folder 0700) and names the folder in a log line', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hf-notify-')), 'outbox');
    const { app, logs } = await build({ outboxDir: dir, dispatch: { intervalMs: 5 } });
    const a = randomUUID();
    people.set(a, { address: 'dev@example.com', name: 'Dev' });
    const id = (await app.notify.enqueue(quota(a)))!;
    await until(() => existsSync(join(dir, `${id}.eml`)));
    const eml = readFileSync(join(dir, `${id}.eml`), 'utf8');
    expect(eml).toContain(`Message-ID: <${id}@harakaflow.test>`);
    expect(eml).toContain('Subject: HarakaFlow: 80% of your free.minute limit used');
    expect(statSync(join(dir, `${id}.eml`)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(logs.lines().some((l) => String(l.msg).includes(dir))).toBe(true);
    expect(logs.text()).not.toContain('dev@example.com');
    // An erasure takes the files of the subject's messages too.
    await app.notify.eraseSubject({ accountId: a });
    expect(existsSync(join(dir, `${id}.eml`))).toBe(false);
  });
});

describe('personal data', () => {
  it('exports and erases an account’s notifications; a pending notice about the erasure is kept, then deleted once sent', async () => {
    const transport = nullTransport();
    const { app } = await build({ transport });
    const a = randomUUID();
    people.set(a, { address: 'erase@example.com', name: 'Erase Me' });
    await app.notify.enqueue(quota(a));
    await drain(app);
    await app.notify.setPreference(a, 'quota.warning', false);
    await app.notify.enqueue({
      kind: 'privacy.request.updated',
      accountId: a,
      data: { requestId: 'r1', kind: 'deletion', status: 'fulfilled' },
    });
    const exported = await app.notify.exportSubject({ accountId: a });
    expect(exported.notifications).toHaveLength(2);
    expect(exported.preferences).toEqual({ 'quota.warning': false });
    const result = await app.notify.eraseSubject({ accountId: a });
    // The sent warning, its delivery record and the preference.
    expect(result).toEqual({ erased: 3, kept: [{ count: 1, reason: expect.stringContaining('deleted once sent') }] });
    expect(JSON.stringify(await rows(sql`select * from notify.outbox`))).toContain('erase@example.com');
    await drain(app);
    expect(transport.sent).toHaveLength(2);
    for (const table of ['outbox', 'attempts', 'preferences', 'addresses', 'deliveries'])
      expect(JSON.stringify(await rows(sql.raw(`select * from notify.${table}`))), table).not.toMatch(
        /erase@example\.com|Erase Me/,
      );
  });
});

describe('erasure during a send', () => {
  // Found by the app's erasure scan: a notice claimed before its subject was erased was settled as
  // sent from the claimed copy, so its address outlived the erasure.
  it('deletes a kept notice that was being sent when its subject was erased, and one that was not kept', async () => {
    const during: { erase?: () => Promise<unknown> } = {};
    const sent: string[] = [];
    const transport = {
      description: 'slow',
      send: async (m: { id: string }) => (
        await during.erase?.(),
        sent.push(m.id),
        { outcome: 'sent' as const, providerMessageId: null, smtpCode: 250 }
      ),
      close: () => {},
    };
    const { app } = await build({ transport });
    const a = randomUUID();
    people.set(a, { address: 'racing@example.com', name: 'Racing' });
    await app.notify.enqueue({
      kind: 'privacy.request.updated',
      accountId: a,
      data: { requestId: 'r', kind: 'deletion', status: 'open', dueDate: 'd' },
    });
    await app.notify.enqueue(quota(a));
    during.erase = () => app.notify.eraseSubject({ accountId: a });
    await drain(app);
    expect(sent).toHaveLength(2);
    for (const table of ['outbox', 'attempts'])
      expect(await rows(sql.raw(`select * from notify.${table}`)), table).toEqual([]);
  });
});

describe('retention', () => {
  it('deletes settled notifications (and their attempts) older than the cutoff, never pending ones', async () => {
    const transport = nullTransport();
    const { app } = await build({ transport });
    const sent = (await app.notify.enqueue({
      kind: 'policy.upcoming',
      to: 'old@example.com',
      data: { version: 'v', effectiveDate: 'd', policyUrl: 'https://x.test' },
    }))!;
    await drain(app);
    const waiting = (await app.notify.enqueue({ kind: 'policy.upcoming', to: 'wait@example.com', data: {} }))!;
    await database.db.execute(sql`update notify.outbox set created_at = now() - interval '31 days'`);
    expect(await app.notify.purgeSettled(new Date(Date.now() - 30 * 86_400_000))).toBe(1);
    expect((await rows(sql`select id from notify.outbox`)).map((r) => r.id)).toEqual([waiting]);
    expect(await rows(sql`select 1 from notify.attempts where notification_id = ${sent}`)).toHaveLength(0);
  });
});

describe('templates', () => {
  it('escapes any value in the HTML part and keeps subjects on one line', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ maxLength: 40 }),
        fc.constantFrom('en', 'sw'),
        (businessName, quotaName, lang) => {
          const r = render(
            'quota.warning',
            {
              name: 'x',
              businessName,
              quota: quotaName,
              percent: 80,
              used: 1,
              limit: 2,
              resetAt: 'r',
              unsubscribeUrl: 'https://u.test/x',
            },
            lang,
          );
          const markup = r.html.replace(
            /<\/?(p|a|html|head|body)( href="[^"<>]*"| lang="(en|sw)")?>|<!doctype html>|<meta charset="utf-8">/g,
            '',
          );
          expect(markup).not.toMatch(/[<>]/);
          expect(r.subject).not.toMatch(/[\r\n]/);
          // As it is, on one line (issue 30 item 6: control characters and separators become spaces, bidi controls go).
          if (businessName.trim()) expect(r.text).toContain(oneLine(businessName));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('fails a render whose data lacks a placeholder, and the dispatcher retries then fails it (no half message)', async () => {
    expect(() => render('quota.warning', { name: 'x' })).toThrow(
      expect.objectContaining({ code: 'HF_NOTIFY_TEMPLATE_DATA' }),
    );
    const transport = nullTransport();
    const { app } = await build({ transport, retrySchedule: [1] });
    const id = (await app.notify.enqueue({ kind: 'quota.warning', to: 'x@example.com', data: {} }))!;
    await drain(app);
    await new Promise((r) => setTimeout(r, 5));
    await drain(app);
    expect((await rows(sql`select status, last_error from notify.outbox where id = ${id}`))[0]).toMatchObject({
      status: 'failed',
      last_error: 'HF_NOTIFY_TEMPLATE_DATA',
    });
    expect(transport.sent).toHaveLength(0);
  });
});

describe('options', () => {
  it('refuses bad options with HF_NOTIFY_INVALID_OPTION naming the option, never quoting a secret', async () => {
    const base = {
      db: database.db,
      from: 'x <n@harakaflow.test>',
      publicUrl: 'https://x.test',
      unsubscribeSecrets: [SECRET],
      outboxDir: '/tmp/x',
    };
    const cases: [Partial<NotifyOptions>, string][] = [
      [{ from: 'nobody' }, 'from'],
      [{ publicUrl: 'ftp://x' }, 'publicUrl'],
      [{ unsubscribeSecrets: ['short'] }, 'unsubscribeSecrets'],
      [{ smtpUrl: 'http://user:hunter2-secret@mail.test' }, 'smtpUrl'],
      [{ outboxDir: undefined }, 'outboxDir'],
      [{ retrySchedule: [-1] }, 'retrySchedule'],
      [{ keepSettledDays: 0 }, 'keepSettledDays'],
      [{ db: {} as never }, 'db'],
    ];
    for (const [bad, name] of cases) {
      const instance = Fastify();
      const error = await instance
        .register(notify, { ...base, ...bad } as NotifyOptions)
        .ready()
        .then(
          () => null,
          (e: Error & { code?: string }) => e,
        );
      expect(error, name).toMatchObject({
        code: 'HF_NOTIFY_INVALID_OPTION',
        message: expect.stringContaining(`"${name}"`),
      });
      expect(error!.message).not.toContain('hunter2');
      await instance.close();
    }
  });
});
