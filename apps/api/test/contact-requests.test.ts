// Issue 32 item 3: a contact's request, routed to the businesses that hold the number. The person
// makes a public request about a number and confirms it by email; the page shows a WhatsApp code;
// Meta's inbound webhook (signature verified) carries it from that number; the request is then
// passed to every account whose message log holds the number (a webhook event and an email each),
// the person told how many without names; each account answers (fulfil, deny, erase with a signed
// receipt) and the person hears each outcome; overdue forwarded requests alert the admin once.
import { verifySignature } from '@harakaflow/data-rights';
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type Received, type TestDatabase } from '@harakaflow/testing';
import { hubSignature } from '@harakaflow/webhooks';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeIn, textMessages } from '../src/privacy/contact-requests.js';
import { dispatchAll, mailApp, mailsOf, META_APP_SECRET, signup, startReceiver, verifyByMail } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const PRIVACY_NUMBER = '+254700000999';
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
let n = 0;
const address = (who: string) => `${who}.${process.pid}.${Date.now()}.${++n}@example.org`;
/** A number of this run's own: tests beside each other never share one. */
const phone = () =>
  `+2547${String(process.pid % 10_000).padStart(4, '0')}${String(Date.now() % 10_000).padStart(4, '0')}${++n % 10}`;

async function contactApp(overrides = {}) {
  const { app, smtp, logs } = await mailApp(database, { privacyWhatsappNumber: PRIVACY_NUMBER, ...overrides });
  const codeFor = async (to: string): Promise<string> => {
    const mails = () => mailsOf(smtp, 'privacy.request.code', to);
    await until(async () => (await app.notify.dispatch(), mails().length > 0));
    return /^(\d{6})\r?$/m.exec(mails().at(-1)!.text)![1]!;
  };
  /** A public request about `contact`, confirmed by its emailed code. */
  const confirmed = async (email: string, kind: string, contact: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/privacy/public-requests',
      payload: { email, kind, contact },
      remoteAddress: '203.0.113.77',
    });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json();
    const ok = await app.inject({
      method: 'POST',
      url: `/v1/privacy/public-requests/${id}/verify`,
      payload: { code: await codeFor(email) },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().phoneProof).toBe(true);
    return id as string;
  };
  const phoneCode = (id: string, remoteAddress = '203.0.113.78') =>
    app.inject({ method: 'POST', url: `/v1/privacy/public-requests/${id}/phone-code`, remoteAddress });
  /** Meta's delivery of one text message from `from` (E.164), signed unless `secret` says otherwise. */
  const whatsapp = (from: string, text: string, secret = META_APP_SECRET, to = PRIVACY_NUMBER) => {
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: to.slice(1) },
                messages: [
                  {
                    id: `wamid.${++n}.${Date.now()}`,
                    from: from.slice(1),
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: 'text',
                    text: { body: text },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    return app.inject({
      method: 'POST',
      url: '/v1/webhooks/inbound/meta',
      payload: body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature(body, secret) },
    });
  };
  const state = async (id: string) =>
    (await app.inject({ url: `/v1/privacy/public-requests/${id}/contact`, remoteAddress: '203.0.113.79' })).json();
  return { app, smtp, logs, confirmed, phoneCode, whatsapp, state };
}

/** An account that has messaged `to` (so its data holds the number), its address verified. */
async function holder(app: FastifyInstance, smtp: { received: Received[] }, to: string, businessName: string) {
  const { account, apiKey } = await signup(app, { businessName });
  await verifyByMail(app, smtp, account, apiKey);
  const sent = await app.inject({
    method: 'POST',
    url: '/v1/messages',
    headers: bearer(apiKey),
    payload: { sessionId: 'wa-1', to, text: 'Your parcel is on its way' },
  });
  expect(sent.statusCode, sent.body).toBe(202);
  return { account, apiKey };
}

const forwardedOf = async (app: FastifyInstance, apiKey: string) => {
  const res = await app.inject({ url: '/v1/privacy/forwarded', headers: bearer(apiKey) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().forwarded as {
    id: string;
    status: string;
    phone: string;
    kind: string;
    dueAt: string;
    receivedAt: string;
    receipt: Record<string, unknown> | null;
    note: string | null;
  }[];
};

describe("a contact's request, passed to the businesses that hold the number", () => {
  it('proves the number over WhatsApp, forwards to each holder, and tells the person each outcome without names unless disclosed', async () => {
    const { app, smtp, logs, confirmed, phoneCode, whatsapp, state } = await contactApp();
    const number = phone();
    const receiver = await startReceiver(200);
    try {
      const a = await holder(app, smtp, number, 'Amani Deliveries');
      const b = await holder(app, smtp, number, 'Baraka Foods');
      const c = await holder(app, smtp, '+15550001111', 'Unrelated Ltd');
      const hook = await app.inject({
        method: 'POST',
        url: '/v1/webhooks/endpoints',
        headers: bearer(a.apiKey),
        payload: { url: receiver.url, events: ['privacy.request.forwarded'] },
      });
      expect(hook.statusCode, hook.body).toBe(201);

      const email = address('njeri');
      const id = await confirmed(email, 'deletion', number);
      expect(await state(id)).toEqual({
        phone: expect.stringMatching(/^\+254•+\d{3}$/),
        proved: false,
        forwarded: null,
      });

      const issued = await phoneCode(id);
      expect(issued.statusCode, issued.body).toBe(201);
      const { code, sendTo, whatsappUrl, expiresAt } = issued.json();
      expect(code).toMatch(/^HF-\d{6}$/);
      expect(sendTo).toBe(PRIVACY_NUMBER);
      expect(whatsappUrl).toBe(`https://wa.me/${PRIVACY_NUMBER.slice(1)}?text=${code}`);
      expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000);
      expect(
        JSON.stringify(await rows(sql`select * from app.contact_requests where request_id = ${id}`)),
      ).not.toContain(code.slice(3));

      // Forged, from another number, or a wrong code: nothing is proved.
      expect((await whatsapp(number, code, 'another-secret-0123456789')).statusCode).toBe(401);
      expect((await whatsapp('+15550002222', code)).statusCode).toBe(200);
      // The right number and code, sent to another of the Meta app's numbers: not the privacy number.
      expect((await whatsapp(number, code, META_APP_SECRET, '+254700000111')).statusCode).toBe(200);
      const wrong = code.endsWith('0') ? `${code.slice(0, -1)}1` : `${code.slice(0, -1)}0`;
      expect((await whatsapp(number, wrong)).statusCode).toBe(200);
      expect((await state(id)).proved).toBe(false);

      // From the number, within a sentence and without the dash: proved and forwarded to A and B.
      expect((await whatsapp(number, `Hello, my code is hf ${code.slice(3)} thanks`)).statusCode).toBe(200);
      expect(await state(id)).toMatchObject({ proved: true, forwarded: 2 });
      const again = await phoneCode(id);
      expect(again.statusCode).toBe(409);
      expect(again.json().code).toBe('HF_PRIVACY_CONTACT_PROVED');

      const [fa] = await forwardedOf(app, a.apiKey);
      const [fb] = await forwardedOf(app, b.apiKey);
      expect(await forwardedOf(app, c.apiKey)).toEqual([]);
      expect(fa).toMatchObject({ status: 'open', phone: number, kind: 'deletion', note: null, receipt: null });
      expect(Date.parse(fa!.dueAt) - Date.parse(fa!.receivedAt)).toBe(30 * 86_400_000);
      expect(fb!.id).not.toBe(fa!.id);

      // The webhook event was written with the row; the account's email and the person's follow.
      await until(async () => {
        while ((await app.webhooks.dispatch()) > 0);
        return receiver.received.some((r) => r.body.includes('privacy.request.forwarded'));
      });
      const event = JSON.parse(receiver.received.find((r) => r.body.includes('privacy.request.forwarded'))!.body);
      expect(event).toMatchObject({
        type: 'privacy.request.forwarded',
        data: { forwardedId: fa!.id, kind: 'deletion', phone: number },
      });
      await until(
        async () => (
          await dispatchAll(app),
          mailsOf(smtp, 'privacy.contact.forwarded', email).length === 1 &&
            mailsOf(smtp, 'privacy.request.forwarded', b.account.email).length === 1
        ),
      );
      const told = mailsOf(smtp, 'privacy.contact.forwarded', email)[0]!;
      expect(told.text).toContain('the 2 businesses');
      expect(told.text).not.toContain('Amani');
      expect(told.text).not.toContain('Baraka');
      expect(told.text).not.toContain(number);
      const toAccount = mailsOf(smtp, 'privacy.request.forwarded', a.account.email)[0]!;
      expect(toAccount.text).toContain(number);
      expect(toAccount.text).toContain(`/v1/privacy/forwarded/${fa!.id}/erase`);
      expect(mailsOf(smtp, 'privacy.request.forwarded', c.account.email)).toEqual([]);

      // A fulfils with a note, without its name; a second answer, or another account, is refused.
      const fulfil = await app.inject({
        method: 'POST',
        url: `/v1/privacy/forwarded/${fa!.id}/fulfil`,
        headers: bearer(a.apiKey),
        payload: { note: 'We removed you from our delivery list.' },
      });
      expect(fulfil.statusCode, fulfil.body).toBe(200);
      expect(fulfil.json()).toMatchObject({ status: 'fulfilled', note: 'We removed you from our delivery list.' });
      const twice = await app.inject({
        method: 'POST',
        url: `/v1/privacy/forwarded/${fa!.id}/deny`,
        headers: bearer(a.apiKey),
        payload: { reason: 'no' },
      });
      expect(twice.statusCode).toBe(409);
      expect(twice.json().code).toBe('HF_PRIVACY_FORWARDED_ANSWERED');
      const stranger = await app.inject({
        method: 'POST',
        url: `/v1/privacy/forwarded/${fb!.id}/fulfil`,
        headers: bearer(c.apiKey),
        payload: {},
      });
      expect(stranger.statusCode).toBe(404);
      expect(stranger.json().code).toBe('HF_PRIVACY_FORWARDED_NOT_FOUND');
      await until(async () => (await dispatchAll(app), mailsOf(smtp, 'privacy.contact.outcome', email).length === 1));
      const outcomeA = mailsOf(smtp, 'privacy.contact.outcome', email)[0]!;
      expect(outcomeA.text).toContain(
        'One of the businesses we passed your request to says it has carried out your request. Its note, in its own words (not HarakaFlow’s): We removed you from our delivery list.',
      );
      expect(outcomeA.text).not.toContain('Amani');

      // B has the service erase the contact, and gives its name: the person receives the signed receipt.
      const erase = await app.inject({
        method: 'POST',
        url: `/v1/privacy/forwarded/${fb!.id}/erase`,
        headers: bearer(b.apiKey),
        payload: { disclose: true },
      });
      expect(erase.statusCode, erase.body).toBe(202);
      expect(erase.json().status).toMatch(/^(erasing|erased)$/);
      await until(async () => (await forwardedOf(app, b.apiKey))[0]!.status === 'erased');
      const [erased] = await forwardedOf(app, b.apiKey);
      expect(
        await rows(sql`select 1 from app.message_log where account_id = ${b.account.id} and "to" = ${number}`),
      ).toEqual([]);
      expect(
        await rows(sql`select 1 from app.message_log where account_id = ${a.account.id} and "to" = ${number}`),
      ).toHaveLength(1);
      const { signature, keyId, ...signed } = erased!.receipt as { signature: string; keyId: string };
      const keys = (await app.inject('/.well-known/harakaflow-signing-keys.json')).json().keys;
      expect(
        verifySignature(
          signed,
          signature,
          keys.find((k: { kid: string }) => k.kid === keyId),
        ),
      ).toBe(true);
      await until(async () => (await dispatchAll(app), mailsOf(smtp, 'privacy.contact.outcome', email).length === 2));
      const outcomeB = mailsOf(smtp, 'privacy.contact.outcome', email)[1]!;
      expect(outcomeB.text).toContain('The business Baraka Foods had us erase');
      expect(outcomeB.text).toContain(`"signature":"${signature}"`);

      // Nothing personal in the log: the number, the address, the code.
      for (const secret of [number, number.slice(1), email, code.slice(3)]) expect(logs.text()).not.toContain(secret);
    } finally {
      receiver.close();
    }
  });

  it('refuses to erase for an access request, expires codes, limits codes per number, and alerts the admin once when overdue', async () => {
    const { app, smtp, confirmed, phoneCode, whatsapp, state } = await contactApp();
    const number = phone();
    const a = await holder(app, smtp, number, 'Chui Traders');
    const id = await confirmed(address('otieno'), 'access', number);

    // An expired code proves nothing.
    const first = (await phoneCode(id)).json().code as string;
    await database.db.execute(
      sql`update app.contact_requests set code_expires_at = now() - interval '1 second' where request_id = ${id}`,
    );
    await whatsapp(number, first);
    expect((await state(id)).proved).toBe(false);

    // A new code replaces the last: the earlier one no longer works.
    const second = (await phoneCode(id)).json().code as string;
    const third = (await phoneCode(id)).json().code as string;
    if (second !== third) {
      await whatsapp(number, second);
      expect((await state(id)).proved).toBe(false);
    }
    await whatsapp(number, third);
    expect(await state(id)).toMatchObject({ proved: true, forwarded: 1 });

    const [fa] = await forwardedOf(app, a.apiKey);
    const erase = await app.inject({
      method: 'POST',
      url: `/v1/privacy/forwarded/${fa!.id}/erase`,
      headers: bearer(a.apiKey),
    });
    expect(erase.statusCode).toBe(409);
    expect(erase.json().code).toBe('HF_PRIVACY_FORWARDED_NOT_ERASABLE');
    const empty = await app.inject({
      method: 'POST',
      url: `/v1/privacy/forwarded/${fa!.id}/deny`,
      headers: bearer(a.apiKey),
      payload: { reason: '   ' },
    });
    expect(empty.statusCode).toBe(400);

    // Overdue: one alert across runs (the row is marked in the statement that finds it).
    await database.db.execute(
      sql`update app.forwarded_requests set due_at = now() - interval '1 minute' where id = ${fa!.id}`,
    );
    const [one, two] = await Promise.all([app.contactRequests.checkDeadlines(), app.contactRequests.checkDeadlines()]);
    expect(one.overdue + two.overdue).toBe(1);
    const alerts = await rows(
      sql`select payload from app.notifications where kind = 'privacy.forwarded.overdue' and payload->>'forwardedId' = ${fa!.id}`,
    );
    expect(alerts).toHaveLength(1);
    expect(JSON.stringify(alerts)).not.toContain(number);

    // Codes per request: 5 an hour, then 429 with Retry-After. Someone else's request naming the
    // same number has its own count (a stranger cannot shut the owner out), and looking at the
    // number's step never uses up codes.
    const other = await confirmed(address('achieng'), 'objection', number);
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push(await phoneCode(other));
    expect(codes.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201, 429]);
    expect(codes[5]!.json().code).toBe('HF_PRIVACY_CONTACT_CODE_LIMIT');
    expect(Number(codes[5]!.headers['retry-after'])).toBeGreaterThan(0);
    const owner = await confirmed(address('owner'), 'deletion', number);
    for (let i = 0; i < 12; i++) expect((await state(owner)).proved).toBe(false);
    expect((await phoneCode(owner)).statusCode).toBe(201);

    // Retention (class contact_requests): a number never proved goes after 30 days; one passed on
    // stays while a business has not answered, however old.
    await database.db.execute(
      sql`update app.contact_requests set created_at = now() - interval '31 days', told_at = now() - interval '4000 days' where request_id in (${id}, ${other}, ${owner})`,
    );
    await app.retention.runner.run({ only: 'contact_requests' });
    expect(
      (
        await rows(sql`select request_id from app.contact_requests where request_id in (${id}, ${other}, ${owner})`)
      ).map((r) => r.request_id),
    ).toEqual([id]);
    await database.db.execute(
      sql`update app.forwarded_requests set status = 'denied', person_told_at = now() - interval '4000 days' where id = ${fa!.id}`,
    );
    await app.retention.runner.run({ only: 'contact_requests' });
    expect(await rows(sql`select 1 from app.forwarded_requests where id = ${fa!.id}`)).toEqual([]);
  });

  it('puts a forwarded request back to open when its erasure is canceled, and files the erasure once under the id chosen with the answer', async () => {
    const { app, smtp, confirmed, phoneCode, whatsapp } = await contactApp();
    const number = phone();
    const a = await holder(app, smtp, number, 'Duma Couriers');
    const id = await confirmed(address('mwangi'), 'deletion', number);
    await whatsapp(number, (await phoneCode(id)).json().code);
    const [fa] = await forwardedOf(app, a.apiKey);
    // The answer chooses the erasure's id; a data-rights deletion under it ends canceled (as the
    // admin's cancel, or the account's own before the purge, would leave it).
    await database.db.execute(
      sql`update app.forwarded_requests set status = 'erasing', answered_at = now(), erasure_request_id = ${fa!.id} where id = ${fa!.id}`,
    );
    const erased = await app.contactRequests.erasureDone({
      ...(await app.dataRights.get(id)),
      id: fa!.id,
      kind: 'deletion',
      status: 'canceled',
    });
    expect(erased).toMatchObject({ id: fa!.id, status: 'open', erasureRequestId: null, answeredAt: null });
    const retry = await app.inject({
      method: 'POST',
      url: `/v1/privacy/forwarded/${fa!.id}/erase`,
      headers: bearer(a.apiKey),
    });
    expect(retry.statusCode, retry.body).toBe(202);
    const erasureId = retry.json().erasureRequestId as string;
    await until(async () => (await forwardedOf(app, a.apiKey))[0]!.status === 'erased');
    // The sweep, run as after a crash, files nothing more: the one deletion, under the chosen id.
    await database.db.execute(
      sql`update app.forwarded_requests set status = 'erasing', answered_at = now() - interval '2 minutes' where id = ${fa!.id}`,
    );
    await app.contactRequests.sweep();
    expect((await forwardedOf(app, a.apiKey))[0]).toMatchObject({ status: 'erased', erasureRequestId: erasureId });
    expect(
      await rows(
        sql`select id from data_rights.requests where kind = 'deletion' and subject_kind = 'contact' and account_id = ${a.account.id}`,
      ),
    ).toEqual([{ id: erasureId }]);
  });

  it("keeps the number's step through a crash between the emailed code and the step's own row, and shows it only once the request exists", async () => {
    const { app, smtp, state } = await contactApp();
    const email = address('kiprono');
    const { id } = (
      await app.inject({
        method: 'POST',
        url: '/v1/privacy/public-requests',
        payload: { email, kind: 'deletion', contact: phone() },
        remoteAddress: '203.0.113.80',
      })
    ).json();
    await until(async () => (await app.notify.dispatch(), mailsOf(smtp, 'privacy.request.code', email).length > 0));
    const code = /^(\d{6})\r?$/m.exec(mailsOf(smtp, 'privacy.request.code', email).at(-1)!.text)![1]!;
    // A wrong code: nothing is filed, and there is no step to show.
    const wrong = await app.inject({
      method: 'POST',
      url: `/v1/privacy/public-requests/${id}/verify`,
      payload: { code: code === '000000' ? '111111' : '000000' },
    });
    expect(wrong.statusCode).toBe(400);
    expect((await app.inject({ url: `/v1/privacy/public-requests/${id}/contact` })).statusCode).toBe(404);
    // The request filed with nothing after it (as a crash right after the code leaves it): the step is there.
    await app.dataRights.intake.confirm(id, code);
    expect(await state(id)).toMatchObject({ proved: false, forwarded: null });
  });

  it('answers 503 without a privacy number, 404 for a request about no number, and checks its bodies', async () => {
    const { app, confirmed, phoneCode } = await contactApp({ privacyWhatsappNumber: undefined });
    const id = await confirmed(address('wanjiku'), 'deletion', phone());
    const off = await phoneCode(id);
    expect(off.statusCode).toBe(503);
    expect(off.json().code).toBe('HF_PRIVACY_WHATSAPP_NOT_CONFIGURED');
    const missing = await app.inject({
      url: '/v1/privacy/public-requests/0190a0a0-0000-7000-8000-000000000000/contact',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('HF_PRIVACY_CONTACT_NOT_FOUND');
    const { apiKey } = await signup(app);
    const bad = await app.inject({ url: '/v1/privacy/forwarded?status=nope', headers: bearer(apiKey) });
    expect(bad.statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/privacy/forwarded' })).statusCode).toBe(401);
  });
});

describe("reading Meta's payloads", () => {
  it('never throws on any JSON, and keeps only text messages from E.164 senders', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const m of textMessages(value)) {
          expect(m.phone).toMatch(/^\+[1-9][0-9]{1,14}$/);
          expect(typeof m.text).toBe('string');
        }
      }),
    );
    const message = (from: unknown, type = 'text') => ({
      entry: [{ changes: [{ value: { messages: [{ from, type, text: { body: 'HF-123456' } }] } }] }],
    });
    expect(textMessages(message('254711000222'))).toEqual([{ phone: '+254711000222', text: 'HF-123456', to: null }]);
    expect(textMessages(message('+254711000222'))).toEqual([]);
    expect(textMessages(message('0711000222'))).toEqual([]);
    expect(textMessages(message('254711000222', 'image'))).toEqual([]);
  });

  it('finds the code in a message, and only a whole six-digit code after HF', () => {
    expect(codeIn('HF-123456')).toBe('123456');
    expect(codeIn('my code: hf 654321.')).toBe('654321');
    expect(codeIn('HF123456')).toBe('123456');
    expect(codeIn('HF-1234567')).toBeNull();
    expect(codeIn('XHF-123456')).toBeNull();
    expect(codeIn('123456')).toBeNull();
    fc.assert(
      fc.property(fc.string(), (s) => {
        const found = codeIn(s);
        expect(found === null || /^\d{6}$/.test(found)).toBe(true);
      }),
    );
  });
});
