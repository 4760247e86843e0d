// Issue 30 item 6: "Anyone can make the service email text they wrote to any address." Signup took
// a name with CR/LF and any address; the name reached that address verbatim in a DKIM-signed
// message, and the same address later received the account's export links. Now names refuse
// control characters, every template field is one line, and an address gets nothing the account
// wrote (only its verification code, security notices and §11 policy notices) until it is verified.
import { resultRows } from '@harakaflow/db';
import { startSmtp, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { mailsOf, signup, signupBody, testApp, verifyByMail, dispatchAll, mailApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));

const smtpApp = (overrides = {}) => mailApp(database, { quotaFreeMessagesPerDay: 5, ...overrides });

const drain = dispatchAll;

describe('names and business names', () => {
  it('refuse control characters, line separators and bidi overrides with 400 HF_VALIDATION_FAILED, at signup and in a correction', async () => {
    const { app } = await smtpApp();
    const bad = [
      'Amina\r\nSECURITY ALERT: verify now at https://evil.example',
      'Amina\nOtieno',
      'Amina\u0000',
      'Amina\u0007',
      'Amina\u007F',
      'Amina\u0085',
      'Amina\u2028x',
      'Amina \u202Eevil',
      'Amina \u2066x\u2069',
      '\t',
    ];
    for (const name of bad) {
      for (const field of ['name', 'businessName']) {
        const res = await app.inject({ method: 'POST', url: '/v1/accounts', payload: signupBody({ [field]: name }) });
        expect(res.statusCode, `${field} ${JSON.stringify(name)}`).toBe(400);
        expect(res.json()).toMatchObject({ statusCode: 400, code: 'HF_VALIDATION_FAILED' });
      }
    }
    // Names of every script still pass.
    for (const name of ['Njeri Wa-Mũthoni', "Ng'ang'a", 'محمد علي', '王小明', 'Zoë O’Brien'])
      expect(
        (await app.inject({ method: 'POST', url: '/v1/accounts', payload: signupBody({ name }) })).statusCode,
        name,
      ).toBe(201);
    const { apiKey } = await signup(app);
    for (const payload of [{ name: 'x\r\ny' }, { businessName: 'Ltd\u202E' }, { name: '   ' }]) {
      const res = await app.inject({ method: 'PATCH', url: '/v1/privacy/profile', headers: bearer(apiKey), payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('HF_VALIDATION_FAILED');
    }
  });
});

describe('an address nobody has verified', () => {
  it('gets only the verification code, without the account’s name; quota warnings and request updates (the export link) wait, and go once the code is sent back', async () => {
    const { app, smtp } = await smtpApp();
    const victim = signupBody({
      name: 'SECURITY ALERT your account is locked, verify at https://evil.example',
      businessName: 'Call +254700000000 now',
    });
    const created = await app.inject({ method: 'POST', url: '/v1/accounts', payload: victim });
    expect(created.statusCode).toBe(201);
    const { account, apiKey } = created.json() as {
      account: { id: string; email: string; emailVerified: boolean };
      apiKey: string;
    };
    expect(account.emailVerified).toBe(false);
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
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: bearer(apiKey),
          payload: { kind: 'access' },
        })
      ).json().status,
    ).toBe('fulfilled');
    await until(async () => {
      await drain(app);
      return mailsOf(smtp, 'account.email.verification', account.email).length === 1;
    });
    await drain(app);
    // The only message to that address: the code, greeting nobody by the name the account chose.
    const toVictim = smtp.received.filter((m) => m.to.includes(account.email));
    expect(toVictim.map((m) => m.headers['x-harakaflow-notification'])).toEqual(['account.email.verification']);
    const [code] = toVictim;
    expect(code!.text).toContain('Hello there,');
    expect(code!.text + code!.html).not.toMatch(/evil\.example|SECURITY ALERT|\+254700000000/);
    // Two quota warnings, received, ready: each tried once (here or by the app's own loop), then waiting.
    const waiting = () =>
      rows(
        sql`select kind, status, last_error from notify.outbox where account_id = ${account.id} and kind <> 'account.email.verification' order by kind`,
      );
    await until(
      async () => (await drain(app), (await waiting()).every((r) => r.last_error === 'waiting for a verified address')),
    );
    expect((await waiting()).map((r) => [r.kind, r.status])).toEqual([
      ['privacy.request.updated', 'pending'],
      ['privacy.request.updated', 'pending'],
      ['quota.warning', 'pending'],
      ['quota.warning', 'pending'],
    ]);
    expect(toVictim).toHaveLength(smtp.received.filter((m) => m.to.includes(account.email)).length);

    // The API asks too.
    const me = (await app.inject({ url: '/v1/me', headers: bearer(apiKey) })).json();
    expect(me).toMatchObject({
      account: { emailVerified: false },
      emailVerification: { verify: 'POST /v1/account/email/verify', resend: 'POST /v1/account/email/verification' },
    });
    // A wrong code, then the right one past its five tries, are refused.
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/account/email/verify',
      headers: bearer(apiKey),
      payload: { code: 'AAAA-AAAA' },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().code).toBe('HF_EMAIL_CODE_INVALID');

    await verifyByMail(app, smtp, account, apiKey);
    expect((await app.inject({ url: '/v1/me', headers: bearer(apiKey) })).json()).toEqual({
      account: expect.objectContaining({ emailVerified: true }),
      notices: [],
    });
    await until(async () => {
      await drain(app);
      return (
        mailsOf(smtp, 'privacy.request.updated', account.email).length === 2 &&
        mailsOf(smtp, 'quota.warning', account.email).length === 2
      );
    });
    expect(
      mailsOf(smtp, 'privacy.request.updated', account.email)
        .map((m) => m.headers.subject)
        .sort(),
    ).toEqual(['HarakaFlow: we received your request (access to your data)', 'HarakaFlow: your data export is ready']);
    const again = await app.inject({ method: 'POST', url: '/v1/account/email/verification', headers: bearer(apiKey) });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('HF_EMAIL_ALREADY_VERIFIED');
  });

  it('takes five tries per code, sends a new code at most once a minute, and a new code replaces the old', async () => {
    const { app, smtp } = await smtpApp();
    const { account, apiKey } = await signup(app);
    await until(
      async () => (await drain(app), mailsOf(smtp, 'account.email.verification', account.email).length === 1),
    );
    const first = /^([0-9A-Z]{4}-[0-9A-Z]{4})\r?$/m.exec(
      mailsOf(smtp, 'account.email.verification', account.email)[0]!.text,
    )![1]!;
    const soon = await app.inject({ method: 'POST', url: '/v1/account/email/verification', headers: bearer(apiKey) });
    expect(soon.statusCode).toBe(429);
    expect(soon.json().code).toBe('HF_EMAIL_VERIFICATION_TOO_SOON');
    expect(Number(soon.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++)
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/account/email/verify',
            headers: bearer(apiKey),
            payload: { code: 'ZZZZ-ZZZZ' },
          })
        ).statusCode,
      ).toBe(400);
    // The sixth try, the right code: refused, its tries are spent.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/account/email/verify',
          headers: bearer(apiKey),
          payload: { code: first },
        })
      ).json().code,
    ).toBe('HF_EMAIL_CODE_INVALID');
    await database.db.execute(
      sql`update app.email_verifications set requested_at = now() - interval '2 minutes' where account_id = ${account.id}`,
    );
    expect(
      (await app.inject({ method: 'POST', url: '/v1/account/email/verification', headers: bearer(apiKey) })).statusCode,
    ).toBe(202);
    await until(
      async () => (await drain(app), mailsOf(smtp, 'account.email.verification', account.email).length === 2),
    );
    // Lower case and without the dash, as people type it.
    const second = /^([0-9A-Z]{4}-[0-9A-Z]{4})\r?$/m.exec(
      mailsOf(smtp, 'account.email.verification', account.email)[1]!.text,
    )![1]!;
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/account/email/verify',
          headers: bearer(apiKey),
          payload: { code: second.replace('-', '').toLowerCase() },
        })
      ).statusCode,
    ).toBe(200);
    // The code is in the message only: the outbox holds neither.
    expect(JSON.stringify(await rows(sql`select data from notify.outbox`))).not.toMatch(
      new RegExp(`${first}|${second}`),
    );
  });

  it('asks accounts made before verification existed, once, by email, across two replicas', async () => {
    const smtp = await startSmtp();
    onTestFinished(() => smtp.close());
    const { app } = await testApp(database, { smtpUrl: smtp.url });
    const old = await signup(app);
    await app.close();
    // As an earlier version left it: no verification asked, none done.
    await database.db.execute(sql`delete from app.email_verifications where account_id = ${old.account.id}`);
    await database.db.execute(sql`delete from notify.outbox where account_id = ${old.account.id}`);
    const before = mailsOf(smtp, 'account.email.verification', old.account.email).length;
    const [one, two] = await Promise.all([
      testApp(database, { smtpUrl: smtp.url }),
      testApp(database, { smtpUrl: smtp.url }),
    ]);
    onTestFinished(() => Promise.all([one.app.close(), two.app.close()]).then(() => undefined));
    await until(
      async () => (
        await Promise.all([drain(one.app), drain(two.app)]),
        mailsOf(smtp, 'account.email.verification', old.account.email).length > before
      ),
    );
    await Promise.all([drain(one.app), drain(two.app)]);
    expect(mailsOf(smtp, 'account.email.verification', old.account.email)).toHaveLength(before + 1);
    await verifyByMail(one.app, smtp, old.account, old.apiKey);
    expect((await two.app.inject({ url: '/v1/me', headers: bearer(old.apiKey) })).json().account.emailVerified).toBe(
      true,
    );
  });
});
