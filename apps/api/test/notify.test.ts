// Issue 15 in the reference app: the policy's emails sent (§2 quota warnings, §6 request updates,
// §11 policy notices, account deletion), one-click unsubscribe, operators' views, and no API key in
// any message or log line.
import { resultRows } from '@harakaflow/db';
import { fromDist, startSmtp, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN_KEY, mailApp, signup, testApp, verifyByMail } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));

const smtpApp = (overrides = {}) => mailApp(database, { quotaFreeMessagesPerDay: 5, ...overrides });

/** Until nothing is pending: this test's dispatching and the app's own loop (whose sends may be in flight) alike. */
const drain = async (app: { notify: { dispatch(): Promise<number>; counts(): Promise<{ pending: number }> } }) => {
  await until(async () => {
    while ((await app.notify.dispatch()) > 0);
    return (await app.notify.counts()).pending === 0;
  });
};

describe('quota warnings (§2)', () => {
  it('are emailed at 80% and 100% with one-click unsubscribe, which the public route honours', async () => {
    const { app, smtp } = await smtpApp();
    const { account, apiKey } = await signup(app, { businessName: '<img src=x onerror=alert(1)> Ltd' });
    // Quota warnings go to a verified address only (issue 30 item 6).
    await verifyByMail(app, smtp, account, apiKey);
    for (let i = 0; i < 5; i++)
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/messages',
            headers: bearer(apiKey),
            payload: { sessionId: 'wa-1', to: '+254711000001', text: 'hi' },
          })
        ).statusCode,
      ).toBe(202);
    await drain(app);
    const warnings = smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === 'quota.warning');
    expect(warnings.map((m) => m.headers.subject).sort()).toEqual([
      'HarakaFlow: 100% of your free.messages limit used',
      'HarakaFlow: 80% of your free.messages limit used',
    ]);
    expect(warnings.every((m) => m.to[0] === account.email)).toBe(true);
    // An HTML-injection attempt in the business name arrives escaped.
    expect(warnings[0]!.html).toContain('&lt;img src=x onerror=alert(1)&gt; Ltd');
    expect(warnings[0]!.html).not.toContain('<img');
    const link = /^<(.+)>$/.exec(warnings[0]!.headers['list-unsubscribe']!)![1]!;
    expect(link.startsWith('https://api.harakaflow.test/v1/notifications/unsubscribe?token=')).toBe(true);
    const { pathname, search } = new URL(link);
    const post = await app.inject({
      method: 'POST',
      url: `${pathname}${search}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(post.statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/notifications/preferences', headers: bearer(apiKey) })).json()).toEqual({
      preferences: { 'quota.warning': false },
    });
    // The token is recorded by its route pattern, never its value.
    await app.audit.flush();
    const token = new URL(link).searchParams.get('token')!;
    expect(JSON.stringify(await rows(sql`select path, route from audit.events`))).not.toContain(token);
    // Back on, through the account's own route; a legal kind cannot be turned off.
    expect(
      (
        await app.inject({
          method: 'PATCH',
          url: '/v1/notifications/preferences',
          headers: bearer(apiKey),
          payload: { 'quota.warning': true },
        })
      ).json(),
    ).toEqual({ preferences: { 'quota.warning': true } });
    const refused = await app.inject({
      method: 'PATCH',
      url: '/v1/notifications/preferences',
      headers: bearer(apiKey),
      payload: { 'policy.upcoming': false },
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('HF_VALIDATION_FAILED');
  });

  it('sends what an earlier replica left in app.notifications (rolling deploy), once', async () => {
    const { app, smtp } = await smtpApp();
    const { account, apiKey } = await signup(app);
    // A quota warning goes to a verified address only (issue 30 item 6).
    await verifyByMail(app, smtp, account, apiKey);
    const id = randomUUID();
    await database.db.execute(
      sql`insert into app.notifications (id, account_id, kind, payload, created_at) values (${id}, ${account.id}, 'quota.warning', ${JSON.stringify({ quota: 'free.minute', threshold: 0.8, used: 48, limit: 60, resetAt: '2026-12-01T12:00:00.000Z' })}::jsonb, now())`,
    );
    const { app: second } = await testApp(database, { smtpUrl: `smtp://127.0.0.1:${smtp.port}` });
    onTestFinished(() => second.close());
    await drain(app);
    await drain(second);
    const got = smtp.received.filter((m) => m.headers.subject === 'HarakaFlow: 80% of your free.minute limit used');
    expect(got).toHaveLength(1);
    expect((await rows(sql`select sent_at is not null as handed from app.notifications where id = ${id}`))[0]).toEqual({
      handed: true,
    });
  });
});

describe('privacy requests (§6) and account deletion', () => {
  it('emails the receipt of a request with its due date, and the export link that works once', async () => {
    const { app, smtp } = await smtpApp();
    const { account, apiKey } = await signup(app);
    // Request updates (the export link above all) go to a verified address only (issue 30 item 6).
    await verifyByMail(app, smtp, account, apiKey);
    const filed = await app.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(apiKey),
      payload: { kind: 'access' },
    });
    expect(filed.statusCode).toBe(202);
    await until(async () => {
      await app.notify.dispatch();
      return (
        smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === 'privacy.request.updated').length >= 2
      );
    });
    const [received, ready] = smtp.received.filter(
      (m) => m.headers['x-harakaflow-notification'] === 'privacy.request.updated',
    );
    expect(received!.headers.subject).toBe('HarakaFlow: we received your request (access to your data)');
    expect(received!.text).toMatch(/We answer by \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    expect(ready!.headers.subject).toBe('HarakaFlow: your data export is ready');
    const url = /https:\/\/api\.harakaflow\.test(\/v1\/privacy\/exports\/[A-Za-z0-9_-]+)/.exec(ready!.text)![1]!;
    // The link opens its page (changing nothing); its button downloads, once (issue 30 item 7).
    expect((await app.inject({ url })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url })).statusCode).toBe(410);
    // The link was read at send time: the outbox never held it.
    expect(JSON.stringify(await rows(sql`select data from notify.outbox`))).not.toContain(url.split('/').pop()!);
  });

  it('tells the account its deletion date and how to cancel; the notice goes even though the purge follows', async () => {
    const { app, smtp } = await smtpApp({ dataRightsPurgeAfterDays: 7 });
    const { account, apiKey } = await signup(app, { name: 'Njeri' });
    const filed = (
      await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: bearer(apiKey),
        payload: { kind: 'deletion' },
      })
    ).json();
    await drain(app);
    const notice = smtp.received.find((m) => m.headers['x-harakaflow-notification'] === 'account.deletion.scheduled')!;
    expect(notice.to).toEqual([account.email]);
    expect(notice.headers.subject).toMatch(
      /^HarakaFlow: your account will be deleted on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/,
    );
    expect(notice.text).toContain(`POST /v1/privacy/requests/${filed.id}/cancel`);
    expect(notice.headers['list-unsubscribe']).toBeUndefined();
    // Only that notice: "received" is not sent as well for an account's deletion.
    expect(
      smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === 'privacy.request.updated'),
    ).toHaveLength(0);
  });
});

describe('policy notices (§11)', () => {
  it('emails every account once, 15 days before a material version, across two instances and a restart', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const { app } = await testApp(database, { smtpUrl: smtp.url });
    const accounts = [await signup(app), await signup(app), await signup(app)];
    await app.close();
    const versions = [
      {
        version: '2025-01-01',
        publishedAt: '2025-01-01T00:00:00Z',
        effectiveAt: '2025-01-01T00:00:00Z',
        material: true,
      },
      {
        version: 'upcoming',
        publishedAt: new Date(Date.now() - 3_600_000).toISOString(),
        effectiveAt: new Date(Date.now() + 15 * 86_400_000).toISOString(),
        material: true,
      },
    ];
    const [one, two] = await Promise.all([
      testApp(database, { smtpUrl: smtp.url, policyVersions: versions }),
      testApp(database, { smtpUrl: smtp.url, policyVersions: versions }),
    ]);
    await Promise.all([drain(one.app), drain(two.app)]);
    await one.app.close();
    await two.app.close();
    const restarted = await testApp(database, { smtpUrl: smtp.url, policyVersions: versions });
    await drain(restarted.app);
    await restarted.app.close();
    const notices = smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === 'policy.upcoming');
    for (const { account } of accounts)
      expect(
        notices.filter((m) => m.to[0] === account.email),
        account.email,
      ).toHaveLength(1);
    expect(notices[0]!.text).toContain('https://api.harakaflow.test/privacy');
  });

  it('stops startup when a material version would get less than 14 days of notice', async () => {
    const soon = [
      {
        version: '2025-01-01',
        publishedAt: '2025-01-01T00:00:00Z',
        effectiveAt: '2025-01-01T00:00:00Z',
        material: true,
      },
      {
        version: 'too-soon',
        publishedAt: new Date().toISOString(),
        effectiveAt: new Date(Date.now() + 10 * 86_400_000).toISOString(),
        material: true,
      },
    ];
    await expect(testApp(database, { policyVersions: soon })).rejects.toMatchObject({
      message: expect.stringContaining('"too-soon"'),
    });
  });
});

describe('without SMTP_URL: .eml files, and no secret anywhere', () => {
  it('writes what would have been sent under DATA_DIR/outbox; no .eml or log line carries an API key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-notify-app-'));
    const { app, logs } = await testApp(database, { dataDir, quotaFreeMessagesPerDay: 5 });
    onTestFinished(() => app.close());
    const { apiKey } = await signup(app);
    // The address verified with the code in its .eml, so the quota warnings and the request's receipt are written too.
    await drain(app);
    const code = readdirSync(join(dataDir, 'outbox'))
      .map((f) => /^([0-9A-Z]{4}-[0-9A-Z]{4})\r?$/m.exec(readFileSync(join(dataDir, 'outbox', f), 'utf8'))?.[1])
      .find(Boolean)!;
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/account/email/verify',
          headers: bearer(apiKey),
          payload: { code },
        })
      ).statusCode,
    ).toBe(200);
    for (let i = 0; i < 5; i++)
      await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: bearer(apiKey),
        payload: { sessionId: 'wa-1', to: '+254711000002', text: 'hi' },
      });
    await app.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(apiKey),
      payload: { kind: 'objection', details: 'no profiling' },
    });
    await drain(app);
    const folder = join(dataDir, 'outbox');
    const files = readdirSync(folder).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(logs.lines().some((l) => String(l.msg).includes(folder))).toBe(true);
    const everything = files.map((f) => readFileSync(join(folder, f), 'utf8')).join('\n') + logs.text();
    expect(everything).not.toContain(apiKey);
    expect(everything).not.toContain(apiKey.slice(-20));
  });
});

describe('operators', () => {
  it('list the outbox, see its counts in /health, and queue failed ones again with hf-notify', async () => {
    const { app, smtp } = await smtpApp();
    const { account } = await signup(app);
    // Its verification code sent first: the refusal below is for the notice.
    await drain(app);
    smtp.answers.push(550);
    await app.notify.enqueue({
      kind: 'policy.upcoming',
      accountId: account.id,
      data: { version: 'v', effectiveDate: '2027-01-01', policyUrl: 'https://x.test' },
    });
    await drain(app);
    const list = (await app.inject({ url: '/v1/admin/notifications?status=failed', headers: admin })).json();
    expect(list.notifications).toHaveLength(1);
    expect(list.notifications[0]).toMatchObject({
      kind: 'policy.upcoming',
      status: 'failed',
      lastError: 'EENVELOPE 550',
    });
    expect((await app.inject({ url: '/v1/admin/notifications?status=lost', headers: admin })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/admin/notifications', headers: bearer('hf_live_nope') })).statusCode).toBe(
      401,
    );
    const health = (await app.inject('/health')).json();
    expect(health.notifications).toMatchObject({ failed: expect.any(Number), bouncing: expect.any(Number) });
    expect(health.notifications.bouncing).toBeGreaterThanOrEqual(1);
    // The CLI, on the same database (a real Postgres only: PGlite is this process's alone).
    if (!database.url) return;
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    // Not spawnSync: the SMTP server lives in this process and must keep answering.
    const cli = (...args: string[]) =>
      new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
        execFile(
          process.execPath,
          [...fromDist(join(root, 'apps/api/src/cli/notify.ts')), ...args],
          {
            env: {
              ...process.env,
              DATABASE_URL: database.url,
              DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-notify-cli-')),
              LOG_LEVEL: 'error',
              SMTP_URL: smtp.url,
            },
            cwd: join(root, 'apps/api'),
            encoding: 'utf8',
          },
          (error, stdout, stderr) =>
            done({ status: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    expect((await cli('retry')).status).toBe(2);
    const plain = await cli('retry', '--failed', '--json');
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ queued: 0 }); // the address is bouncing
    const cleared = await cli('retry', '--failed', '--include-bouncing', '--json');
    expect(JSON.parse(cleared.stdout)).toEqual({ queued: 1 });
    await drain(app);
    expect(smtp.received.some((m) => m.to[0] === account.email)).toBe(true);
  });
});
