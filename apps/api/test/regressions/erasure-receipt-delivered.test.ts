// Issue 30 item 8: "Erasure receipts cannot be verified from what the API returns, and never reach
// the person." The request view dropped requestId and subjectHash (which the signature covers), a
// contact deletion left the filing account's list once done, and no email came on completion.
// Checked here with an Ed25519 verifier of the test's own (node:crypto and the published JWK), not
// the package's code: what anyone holding the receipt and the JWK set can do.
import { resultRows } from '@harakaflow/db';
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, mailsOf, signup, verifyByMail, dispatchAll, mailApp } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));

/** Canonical JSON as the README states it: object keys sorted, no spaces, JSON.stringify for the rest. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v !== null && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

/** Everything but keyId and signature is signed; the key is the JWK whose kid is keyId. */
function verifyReceipt(receipt: Record<string, unknown>, jwks: { keys: (JsonWebKey & { kid: string })[] }): boolean {
  const { keyId, signature, ...signed } = receipt as { keyId: string; signature: string };
  const jwk = jwks.keys.find((k) => k.kid === keyId);
  if (!jwk) return false;
  return verify(
    null,
    Buffer.from(canonical(signed)),
    createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(signature, 'base64url'),
  );
}

/** The signed receipt a completion email carries, parsed. */
function receiptIn(text: string): Record<string, unknown> {
  return JSON.parse(
    /The signed erasure receipt, to check with our public keys \([^)]+\): (\{.*\})\r?$/m.exec(text)![1]!,
  ) as Record<string, unknown>;
}

const smtpApp = () => mailApp(database);
const drain = dispatchAll;

describe('an erasure receipt', () => {
  it('as the request view returns it, verifies with the JWK set alone; a contact deletion stays in the account’s list with it, and is emailed to the account', async () => {
    const { app, smtp } = await smtpApp();
    const { account, apiKey } = await signup(app);
    await verifyByMail(app, smtp, account, apiKey);
    for (const to of ['+254711000009', '+254711000010'])
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/messages',
            headers: bearer(apiKey),
            payload: { sessionId: 'wa-1', to, text: 'hi' },
          })
        ).statusCode,
      ).toBe(202);
    const filed = await app.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(apiKey),
      payload: { kind: 'deletion', contact: '+254711000009' },
    });
    expect(filed.statusCode).toBe(202);
    const id = filed.json().id as string;
    await until(
      async () =>
        (await app.inject({ url: `/v1/privacy/requests/${id}`, headers: bearer(apiKey) })).json().status ===
        'fulfilled',
    );

    const jwks = (await app.inject('/.well-known/harakaflow-signing-keys.json')).json();
    const view = (await app.inject({ url: `/v1/privacy/requests/${id}`, headers: bearer(apiKey) })).json();
    expect(view.subject).toEqual({ kind: 'contact', erased: true });
    expect(view.receipt).toMatchObject({
      requestId: id,
      subjectHash: expect.any(String),
      completedAt: expect.any(String),
      keyId: 'test',
    });
    expect(view.receipt.handlers.find((h: { name: string }) => h.name === 'messages').erased).toBe(1);
    expect(verifyReceipt(view.receipt, jwks)).toBe(true);
    // The check is real: a receipt altered in any field fails it.
    expect(verifyReceipt({ ...view.receipt, handlers: [] }, jwks)).toBe(false);
    expect(verifyReceipt({ ...view.receipt, subjectHash: 'x' }, jwks)).toBe(false);

    const listed = (await app.inject({ url: '/v1/privacy/requests', headers: bearer(apiKey) }))
      .json()
      .requests.find((r: { id: string }) => r.id === id);
    expect(listed).toBeDefined();
    expect(verifyReceipt(listed.receipt, jwks)).toBe(true);

    await until(
      async () => (
        await drain(app),
        mailsOf(smtp, 'privacy.request.updated', account.email).some(
          (m) => m.headers.subject === 'HarakaFlow: your request is done (deletion of your data)',
        )
      ),
    );
    const mail = mailsOf(smtp, 'privacy.request.updated', account.email).find(
      (m) => m.headers.subject === 'HarakaFlow: your request is done (deletion of your data)',
    )!;
    expect(mail.text).toContain('https://api.harakaflow.test/.well-known/harakaflow-signing-keys.json');
    expect(receiptIn(mail.text)).toEqual(view.receipt);
    expect(verifyReceipt(receiptIn(mail.text), jwks)).toBe(true);
    expect(
      mail.text + JSON.stringify(await rows(sql`select * from data_rights.requests where id = ${id}`)),
    ).not.toContain('+254711000009');
  });

  it('after an account’s deletion, reaches the address captured when it was filed, which is erased once the receipt is sent', async () => {
    const { app, smtp } = await smtpApp();
    const { account, apiKey } = await signup(app);
    await verifyByMail(app, smtp, account, apiKey);
    const filed = await app.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(apiKey),
      payload: { kind: 'deletion' },
    });
    expect(filed.statusCode).toBe(202);
    const id = filed.json().id as string;
    const done = () =>
      mailsOf(smtp, 'privacy.request.updated', account.email).find(
        (m) => m.headers.subject === 'HarakaFlow: your request is done (deletion of your data)',
      );
    await until(async () => (await drain(app), done() !== undefined));
    // The scheduled notice, then the receipt: the deletion no longer ends on "scheduled".
    expect(mailsOf(smtp, 'account.deletion.scheduled', account.email)).toHaveLength(1);
    const jwks = (await app.inject('/.well-known/harakaflow-signing-keys.json')).json();
    const emailed = receiptIn(done()!.text);
    expect(emailed).toMatchObject({ requestId: id });
    expect(verifyReceipt(emailed, jwks)).toBe(true);
    const queue = (
      await app.inject({ url: '/v1/admin/privacy/requests?kind=deletion&limit=200', headers: bearer(ADMIN_KEY) })
    ).json();
    const view = queue.requests.find((r: { id: string }) => r.id === id);
    expect(view.receipt).toEqual(emailed);
    expect(verifyReceipt(view.receipt, jwks)).toBe(true);
    // The address was kept for this message alone: gone from the request and, once sent, from the outbox.
    await until(
      async () => (await rows(sql`select reply_to from data_rights.requests where id = ${id}`))[0]!.reply_to === null,
    );
    await until(
      async () => (
        await drain(app),
        (await rows(sql`select 1 from notify.outbox where lower(address) = lower(${account.email})`)).length === 0
      ),
    );
    const everything =
      JSON.stringify(await rows(sql`select * from data_rights.requests`)) +
      JSON.stringify(await rows(sql`select * from notify.outbox`)) +
      JSON.stringify(await rows(sql`select * from app.accounts`));
    expect(everything).not.toContain(account.email);
  });

  it('is not sent to an address the account never verified (a signup with someone else’s address)', async () => {
    const { app } = await smtpApp();
    const { account, apiKey } = await signup(app);
    const filed = await app.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(apiKey),
      payload: { kind: 'deletion' },
    });
    expect(filed.statusCode).toBe(202);
    const id = filed.json().id as string;
    // Nothing captured for the receipt: the address was never shown to belong to the account.
    expect((await rows(sql`select reply_to from data_rights.requests where id = ${id}`))[0]!.reply_to).toBeNull();
    expect(JSON.stringify(await rows(sql`select * from data_rights.requests where id = ${id}`))).not.toContain(
      account.email,
    );
  });
});
