// Issue 34 item 4 in the reference app: a §11 notice emailed (really, to smtp-server), accepted by
// the relay, then bounced by a Postfix DSN read from the bounce mailbox (handed to takeBounce as the
// mailbox reader hands it) is on the account's next GET /v1/me until acknowledged, with the Bearer
// key or from the privacy centre's session; the account's export says which legal notices reached it
// and how. The reader itself (IMAP, one replica at a time) is notify's MailboxReader.
import { resultRows } from '@harakaflow/db';
import {
  deliveryReport,
  dovecotAvailable,
  startDovecot,
  testDatabase,
  until,
  type TestDatabase,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { takeBounce } from '../src/privacy/bounce-intake.js';
import { mailApp, mailsOf, signup, verifyByMail } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const ORIGIN = 'https://api.harakaflow.test';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const policy = {
  kind: 'policy.upcoming',
  data: { version: '2027-01-01', effectiveDate: '2027-01-01', policyUrl: 'https://api.harakaflow.test/privacy' },
};

describe('a legal notice that bounced later', () => {
  it('is on GET /v1/me until acknowledged, and the export says how each legal notice went', async () => {
    const { app, smtp, logs } = await mailApp(database);
    const { account, apiKey } = await signup(app);
    await verifyByMail(app, smtp, account, apiKey);
    const me = async (key = apiKey) => (await app.inject({ url: '/v1/me', headers: bearer(key) })).json();
    expect((await me()).notices).toEqual([]);

    const id = (await app.notify.enqueue({ ...policy, accountId: account.id }))!;
    await until(async () => (await app.notify.dispatch(), mailsOf(smtp, 'policy.upcoming', account.email).length > 0));
    const sent = mailsOf(smtp, 'policy.upcoming', account.email)[0]!;
    await takeBounce(app, {
      source: deliveryReport('postfix-hard', { id, recipient: account.email, raw: sent.raw }),
      receivedAt: new Date(),
    });
    // This replica read GET /v1/me a moment ago: the notice appears within AUTH_CACHE_MS.
    await until(async () => (await me()).notices.length > 0);
    expect((await me()).notices).toEqual([
      {
        id,
        kind: 'policy.upcoming',
        subject: 'HarakaFlow privacy policy: changes take effect on 2027-01-01',
        createdAt: expect.any(String),
        reportedAt: expect.any(String),
        reason: 'bounced',
      },
    ]);
    // The log line names ids and codes, never the address.
    expect(logs.lines().find((l) => l.msg === 'bounce mailbox: message read')).toMatchObject({
      status: 'recorded',
      report: 'dsn',
      outcome: 'bounced',
      notification: id,
      matchedBy: 'message-id',
    });
    expect(logs.text()).not.toContain(account.email);

    const ack = (noticeId: string, key = apiKey) =>
      app.inject({ method: 'POST', url: `/v1/me/notices/${noticeId}/ack`, headers: bearer(key) });
    expect((await ack('not-a-uuid')).json()).toMatchObject({ statusCode: 400, code: 'HF_VALIDATION_FAILED' });
    expect((await ack(randomUUID())).json()).toMatchObject({ statusCode: 404, code: 'HF_NOTIFY_NOTICE_NOT_FOUND' });
    const other = await signup(app);
    expect((await ack(id, other.apiKey)).json()).toMatchObject({ statusCode: 404, code: 'HF_NOTIFY_NOTICE_NOT_FOUND' });
    const first = await ack(id);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ id, acknowledgedAt: expect.any(String) });
    // At once on this replica; again, the same answer.
    expect((await me()).notices).toEqual([]);
    expect((await ack(id)).json()).toEqual(first.json());

    const filed = (
      await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: bearer(apiKey),
        payload: { kind: 'access' },
      })
    ).json();
    const url = (await app.inject({ url: `/v1/privacy/requests/${filed.id}`, headers: bearer(apiKey) })).json().export
      .url as string;
    const doc = (await app.inject({ method: 'POST', url, headers: { accept: 'application/json' } })).json() as {
      parts: { notify: { legalNotices: Record<string, unknown>[] } };
    };
    expect(doc.parts.notify.legalNotices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id,
          kind: 'policy.upcoming',
          outcome: 'bounced',
          dsnStatus: '5.1.1',
          smtpCode: 550,
          acceptedByRelayAt: expect.any(String),
          shownInApi: { reason: 'bounced', shownAt: expect.any(String), acknowledgedAt: first.json().acknowledgedAt },
        }),
      ]),
    );
  });

  it('is acknowledged from the privacy centre with the session, its CSRF token and the site’s Origin', async () => {
    const { app, smtp } = await mailApp(database, { authCacheMs: 0 });
    const { account, apiKey } = await signup(app);
    await verifyByMail(app, smtp, account, apiKey);
    const id = (await app.notify.enqueue({ ...policy, accountId: account.id }))!;
    await until(async () => (await app.notify.dispatch(), mailsOf(smtp, 'policy.upcoming', account.email).length > 0));
    const raw = mailsOf(smtp, 'policy.upcoming', account.email)[0]!.raw;
    await takeBounce(app, { source: deliveryReport('arf-redacted', { id, recipient: account.email, raw }) });
    const signedIn = await app.inject({
      method: 'POST',
      url: '/v1/privacy/session',
      headers: { origin: ORIGIN },
      payload: { apiKey },
    });
    const cookie = String(signedIn.headers['set-cookie']).split(';')[0]!;
    const csrf = signedIn.json().csrfToken as string;
    expect((await app.inject({ url: '/v1/me', headers: { cookie } })).json().notices).toMatchObject([
      { id, reason: 'complained' },
    ]);
    const url = `/v1/me/notices/${id}/ack`;
    expect((await app.inject({ method: 'POST', url, headers: { cookie, origin: ORIGIN } })).json()).toMatchObject({
      statusCode: 403,
      code: 'HF_AUTH_CSRF',
    });
    expect(
      (
        await app.inject({
          method: 'POST',
          url,
          headers: { cookie, origin: 'https://evil.example', 'x-csrf-token': csrf },
        })
      ).json(),
    ).toMatchObject({ statusCode: 403, code: 'HF_AUTH_CSRF' });
    expect(
      (await app.inject({ method: 'POST', url, headers: { cookie, origin: ORIGIN, 'x-csrf-token': csrf } })).statusCode,
    ).toBe(200);
    expect((await app.inject({ url: '/v1/me', headers: { cookie } })).json().notices).toEqual([]);
  });
});

// The same end to end through the bounce mailbox itself: a real Dovecot (started here on a free
// loopback port), the reports put into it by IMAP APPEND, read by the app's reader (NOTIFY_BOUNCE_IMAP_URL).
describe.skipIf(!dovecotAvailable)('the bounce mailbox, read over IMAP', () => {
  it('a Postfix DSN and an abuse report appended to it become notices on GET /v1/me and mark the addresses', async () => {
    const dovecot = await startDovecot();
    onTestFinished(() => dovecot.close());
    const box = `Bounces${Date.now()}`;
    await dovecot.recreate(box); // there before the reader's first round
    const { app, smtp } = await mailApp(database, {
      notifyBounceImapUrl: dovecot.urlOf(box),
      privacyImapPollSeconds: 3600,
    });
    const people = [await signup(app), await signup(app)];
    const ids: string[] = [];
    for (const [i, { account, apiKey }] of people.entries()) {
      await verifyByMail(app, smtp, account, apiKey);
      ids.push((await app.notify.enqueue({ ...policy, accountId: account.id }))!);
      await until(
        async () => (await app.notify.dispatch(), mailsOf(smtp, 'policy.upcoming', account.email).length > 0),
      );
      const sent = mailsOf(smtp, 'policy.upcoming', account.email)[0]!;
      await dovecot.append(
        deliveryReport(i === 0 ? 'postfix-hard' : 'arf-abuse', {
          id: ids[i]!,
          recipient: account.email,
          raw: sent.raw,
        }),
        { mailbox: box },
      );
    }
    // A round that began after the appends (the reader's own first round may be in flight).
    await app.bounceMailbox!.round();
    expect((await app.bounceMailbox!.round()).status).toBe('done');
    const noticesOf = async (apiKey: string) =>
      (await app.inject({ url: '/v1/me', headers: bearer(apiKey) })).json().notices as { id: string; reason: string }[];
    // Within AUTH_CACHE_MS of this replica's last read of each account.
    await until(
      async () => (await noticesOf(people[1]!.apiKey)).length > 0 && (await noticesOf(people[0]!.apiKey)).length > 0,
    );
    expect((await noticesOf(people[0]!.apiKey)).map((n) => [n.id, n.reason])).toEqual([[ids[0], 'bounced']]);
    expect((await noticesOf(people[1]!.apiKey)).map((n) => [n.id, n.reason])).toEqual([[ids[1], 'complained']]);
    const marked = resultRows<{ status: string }>(
      await database.db.execute(
        sql`select status from notify.addresses where address in (${people[0]!.account.email}, ${people[1]!.account.email}) order by status`,
      ),
    );
    expect(marked.map((r) => r.status)).toEqual(['bouncing', 'complained']);
    // Read again (a replica restarting from its mark): nothing more is recorded.
    expect((await app.bounceMailbox!.round()).status).toBe('done');
    expect(await noticesOf(people[0]!.apiKey)).toHaveLength(1);
  });
});
