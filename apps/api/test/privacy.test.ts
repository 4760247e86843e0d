// Issue 14 (policy §6, §4) in the reference app: rights requests, the deletion that reaches every
// package, exports downloadable once, restriction, correction, and the admin's queue.
import { verifySignature, signedManifestFields, type Manifest } from '@harakaflow/data-rights';
import { redisUrl, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { Redis } from 'ioredis';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/data/accounts.js';
import { ADMIN_KEY, signup, startReceiver, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const rowsOf = async (query: ReturnType<typeof sql>) => resultRows(await database.db.execute(query));
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);

/** Every row of every table of every schema but Postgres' own and the migration journals, as text. */
async function dumpAll(): Promise<Record<string, string>> {
  const tables = (await rowsOf(
    sql`select table_schema as s, table_name as t from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'drizzle%' and table_name not like '%migrations%'`,
  )) as { s: string; t: string }[];
  const out: Record<string, string> = {};
  for (const { s, t } of tables)
    out[`${s}.${t}`] = JSON.stringify(await rowsOf(sql.raw(`select * from "${s}"."${t}"`)));
  return out;
}

async function requestOf(app: FastifyInstance, id: string) {
  const list = (await app.inject({ url: `/v1/admin/privacy/requests?limit=200`, headers: admin })).json() as {
    requests: { id: string; status: string; receipt?: unknown }[];
  };
  return list.requests.find((r) => r.id === id)!;
}

const CONTACTS = ['+254711000001', '+254711000002', '+254711000003'];
const IP = '203.0.113.77';

/** An account with data in every package: consent, messages to three contacts, webhooks, credentials, usage, a ban, audit events. */
async function busyAccount(app: FastifyInstance, hookUrl: string, withBan = false) {
  const { account, apiKey } = await signup(app, { name: 'Wanjiru Kamau', businessName: 'Kamau Freight' }, IP);
  const auth = { ...bearer(apiKey) };
  const inject = (o: InjectOptions) => app.inject({ remoteAddress: IP, ...o, headers: { ...auth, ...o.headers } });
  expect((await inject({ method: 'PUT', url: '/v1/consent', payload: { analytics: true } })).statusCode).toBe(200);
  expect(
    (await inject({ method: 'POST', url: '/v1/webhooks/endpoints', payload: { url: hookUrl, events: ['*'] } }))
      .statusCode,
  ).toBe(201);
  for (const to of CONTACTS)
    expect(
      (await inject({ method: 'POST', url: '/v1/messages', payload: { sessionId: 'wa-1', to, text: 'hello' } }))
        .statusCode,
    ).toBe(202);
  expect(
    (
      await inject({
        method: 'PUT',
        url: '/v1/whatsapp/sessions/wa-1/credentials/creds',
        payload: { value: { noiseKey: 'k' } },
      })
    ).statusCode,
  ).toBe(200);
  expect((await inject({ url: '/v1/usage' })).statusCode).toBe(200);
  while ((await app.webhooks.dispatch()) > 0);
  // A ban still in force when the account is deleted (then the deletion is filed by the admin).
  if (withBan) await app.quota.ban(account.id, 3600, 'test');
  return { account, apiKey, inject };
}

describe('deletion of an account', () => {
  it('purges it from every table of every package, except what the receipt lists, and the audit chain still verifies', async () => {
    const receiver = await startReceiver(200);
    const { app, logs } = await testApp(database);
    try {
      const { account, apiKey, inject } = await busyAccount(app, receiver.url);
      // A second account's consent id in the ledger, and a request of the first one's own before its deletion.
      expect(
        (
          await inject({
            method: 'POST',
            url: '/v1/privacy/requests',
            payload: { kind: 'objection', details: 'no marketing' },
          })
        ).statusCode,
      ).toBe(202);
      await app.quota.ban(account.id, 3600, 'abuse while being deleted');
      const before = JSON.stringify(await dumpAll());
      for (const needle of [account.id, account.email, CONTACTS[0]!, IP]) expect(before, needle).toContain(needle);

      // Banned, so the deletion arrives by email and the admin files it.
      const filed = await app.inject({
        method: 'POST',
        url: '/v1/admin/privacy/requests',
        headers: admin,
        payload: {
          kind: 'deletion',
          accountId: account.id,
          verification: 'replied from the account email',
          details: 'close my account',
        },
      });
      expect(filed.statusCode).toBe(202);
      const request = filed.json() as { id: string; status: string; dueAt: string };
      expect(request.status).toBe('in_progress');
      await until(async () => (await requestOf(app, request.id)).status === 'fulfilled');
      await app.audit.flush();

      // Keys are gone: 401 (the account no longer exists).
      expect((await app.inject({ url: '/v1/me', headers: bearer(apiKey) })).statusCode).toBe(401);
      const done = (await app.inject({ url: `/v1/admin/privacy/requests?kind=deletion&limit=200`, headers: admin }))
        .json()
        .requests.find((r: { id: string }) => r.id === request.id);
      expect(done.subject).toEqual({ kind: 'account', erased: true });
      const names = done.receipt.handlers.map((h: { name: string }) => h.name);
      for (const name of [
        'audit',
        'consent',
        'age_gate',
        'vault',
        'webhooks',
        'app',
        'messages',
        'quota',
        'data_rights',
        'notify',
      ])
        expect(names).toContain(name);
      // The notice of the deletion (its purge date) outlives the purge if it was not sent yet, as the
      // receipt then says; once sent it goes too (the scan below finds none of it).
      const notifyPart = done.receipt.handlers.find((h: { name: string }) => h.name === 'notify');
      if (notifyPart.kept) expect(notifyPart.keptReason).toContain('deleted once sent');
      // The receipt goes to the address captured at the request (issue 30 item 8): queued, then the
      // request forgets the address; sent, then the message goes too.
      await until(
        async () =>
          (
            (await rowsOf(sql`select reply_to from data_rights.requests where id = ${request.id}`))[0] as {
              reply_to: string | null;
            }
          ).reply_to === null,
      );
      await until(async () => {
        while ((await app.notify.dispatch()) > 0);
        return (await app.notify.counts()).pending === 0;
      });
      expect(done.receipt.handlers.find((h: { name: string }) => h.name === 'messages').erased).toBe(3);
      const keys = (await app.inject('/.well-known/harakaflow-signing-keys.json')).json().keys;
      const [{ receipt }] = (await rowsOf(sql`select receipt from data_rights.requests where id = ${request.id}`)) as [
        { receipt: { keyId: string; signature: string } & Record<string, unknown> },
      ];
      const { signature: sig, keyId: kid, ...fields } = receipt;
      expect(
        verifySignature(
          fields,
          sig,
          keys.find((k: { kid: string }) => k.kid === kid),
        ),
      ).toBe(true);

      const after = await dumpAll();
      const needles = [
        account.id,
        account.email,
        'Wanjiru Kamau',
        'Kamau Freight',
        hashApiKey(apiKey),
        IP,
        ...CONTACTS,
      ];
      for (const [table, text] of Object.entries(after))
        for (const needle of needles) expect(text, `${table} still holds ${needle}`).not.toContain(needle);
      const verified = await app.audit.verify();
      expect(verified.ok, JSON.stringify(verified.problems)).toBe(true);
      expect(logs.text()).not.toContain(account.email);
    } finally {
      receiver.close();
      await app.close();
    }
  });

  it.skipIf(!redisUrl)('leaves no key of the account in Redis when quotas live there', async () => {
    const quotaKeyPrefix = `hf-test:${process.pid}:${Date.now()}:`;
    const { app } = await testApp(database, { redisUrl, quotaKeyPrefix });
    const redis = new Redis(redisUrl!, { lazyConnect: true });
    await redis.connect();
    const keysOf = async () => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${quotaKeyPrefix}*`, 'COUNT', 1000);
        found.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      return found.join('\n');
    };
    try {
      // The account's client IP: signup (anonymous), its requests, failed authentications, an IP ban.
      const ip = `198.51.100.${1 + (process.pid % 250)}`;
      const { account, apiKey } = await signup(app, {}, ip);
      const auth = bearer(apiKey);
      for (let i = 0; i < 3; i++)
        expect((await app.inject({ url: '/v1/usage', headers: auth, remoteAddress: ip })).statusCode).toBe(200);
      expect(
        (await app.inject({ url: '/v1/usage', headers: bearer('hf_live_wrong'), remoteAddress: ip })).statusCode,
      ).toBe(401);
      await app.quota.ban(account.id, 3600, 'test');
      await app.quota.ban(`ip:${ip}`, 60, 'test');
      expect(await keysOf()).toContain(account.id);
      expect(await keysOf()).toContain('ipk:');
      // Client IPs are stored only keyed (QUOTA_LEGACY_CLIENT_KEYS): not even before the erasure.
      expect(await keysOf()).not.toContain(ip);
      const filed = await app.inject({
        method: 'POST',
        url: '/v1/admin/privacy/requests',
        headers: admin,
        payload: { kind: 'deletion', accountId: account.id, verification: 'letter' },
      });
      await until(async () => (await requestOf(app, filed.json().id)).status === 'fulfilled');
      expect(await keysOf()).not.toContain(account.id);
      expect(await keysOf()).not.toContain(ip);
    } finally {
      await app.close();
      // What is left of this test's keys (the keyed counters and ban of its client IP) expires by itself; removed now.
      const left = (await keysOf()).split('\n').filter(Boolean);
      if (left.length) await redis.del(...left);
      redis.disconnect();
    }
  });

  it('holds the account in pending deletion during the grace period: only its privacy requests answer, and cancel restores it', async () => {
    const { app } = await testApp(database, { dataRightsPurgeAfterDays: 7 });
    try {
      const { apiKey } = await signup(app);
      const auth = bearer(apiKey);
      const filed = (
        await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: auth, payload: { kind: 'deletion' } })
      ).json();
      expect(filed.status).toBe('in_progress');
      const again = await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: auth,
        payload: { kind: 'deletion' },
      });
      expect(again.statusCode).toBe(403); // the grace period refuses new requests too
      const me = await app.inject({ url: '/v1/me', headers: auth });
      expect(me.statusCode).toBe(403);
      expect(me.json()).toMatchObject({ code: 'HF_DATA_RIGHTS_PENDING_DELETION', statusCode: 403 });
      expect((await app.inject({ url: '/v1/privacy/requests', headers: auth })).statusCode).toBe(200);
      expect((await app.inject({ url: `/v1/privacy/requests/${filed.id}`, headers: auth })).json().status).toBe(
        'in_progress',
      );
      const canceled = await app.inject({
        method: 'POST',
        url: `/v1/privacy/requests/${filed.id}/cancel`,
        headers: auth,
      });
      expect(canceled.json().status).toBe('canceled');
      expect((await app.inject({ url: '/v1/me', headers: auth })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('a contact request', () => {
  it("erases that number from that account's data only", async () => {
    const receiver = await startReceiver(200);
    const { app } = await testApp(database);
    try {
      const one = await busyAccount(app, receiver.url);
      const two = await busyAccount(app, receiver.url);
      const filed = await one.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        payload: { kind: 'deletion', contact: CONTACTS[0] },
      });
      expect(filed.statusCode).toBe(202);
      await until(async () => (await requestOf(app, filed.json().id)).status === 'fulfilled');
      const messages = (await rowsOf(
        sql`select account_id, "to" from app.message_log where account_id in (${one.account.id}, ${two.account.id})`,
      )) as { account_id: string; to: string }[];
      expect(
        messages
          .filter((m) => m.account_id === one.account.id)
          .map((m) => m.to)
          .sort(),
      ).toEqual(CONTACTS.slice(1));
      expect(
        messages
          .filter((m) => m.account_id === two.account.id)
          .map((m) => m.to)
          .sort(),
      ).toEqual(CONTACTS);
      const deliveries = JSON.stringify(
        await rowsOf(sql`select payload from webhooks.deliveries where account_id = ${one.account.id}`),
      );
      expect(deliveries).not.toContain(CONTACTS[0]);
      expect(deliveries).toContain(CONTACTS[1]);
      expect((await one.inject({ url: '/v1/me' })).statusCode).toBe(200);
    } finally {
      receiver.close();
      await app.close();
    }
  });
});

describe('access and portability', () => {
  it('exports every package once through a one-time link, the manifest signed, the token in no log', async () => {
    const receiver = await startReceiver(200);
    const { app, logs } = await testApp(database);
    try {
      const { inject, account } = await busyAccount(app, receiver.url);
      // 2,500 more messages a microsecond apart (many in one millisecond): pages (of 250) must neither repeat nor skip a row.
      await database.db.execute(sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at)
        select gen_random_uuid(), ${account.id}::uuid, 'wa-2', '+254733000000', 5, now() - (g || ' microseconds')::interval from generate_series(1, 2500) g`);
      const filed = (await inject({ method: 'POST', url: '/v1/privacy/requests', payload: { kind: 'access' } })).json();
      expect(filed.status).toBe('fulfilled');
      const url = (await inject({ url: `/v1/privacy/requests/${filed.id}` })).json().export.url as string;
      expect(url).toMatch(/^\/v1\/privacy\/exports\//);
      const token = url.split('/').pop()!;
      // GET is the link's page and changes nothing (issue 30 item 7); POST downloads.
      expect((await app.inject({ url })).headers['content-type']).toMatch(/^text\/html/);
      const download = await app.inject({ method: 'POST', url, headers: { accept: 'application/json' } });
      expect(download.statusCode).toBe(200);
      expect(download.headers['content-type']).toMatch(/^application\/json/);
      const doc = download.json() as { parts: Record<string, unknown>; manifest: Manifest };
      for (const name of [
        'audit',
        'consent',
        'age_gate',
        'vault',
        'webhooks',
        'app',
        'messages',
        'quota',
        'data_rights',
      ])
        expect(Object.keys(doc.parts)).toContain(name);
      const messages = doc.parts.messages as { id: string }[];
      expect(messages).toHaveLength(2503);
      expect(new Set(messages.map((m) => m.id)).size).toBe(2503);
      expect(doc.manifest.parts.find((p) => p.name === 'messages')!.records).toBe(2503);
      expect(doc.manifest.parts.find((p) => p.name === 'vault')!.withheld).toMatch(/secret values/);
      expect(JSON.stringify(doc.parts.vault)).not.toContain('noiseKey');
      const keys = (await app.inject('/.well-known/harakaflow-signing-keys.json')).json().keys;
      expect(verifySignature(signedManifestFields(doc.manifest), doc.manifest.signature, keys[0])).toBe(true);

      const second = await app.inject({ method: 'POST', url });
      expect(second.statusCode).toBe(410);
      // Accept picks the form: a zip (one entry per part), or 406 for a type neither form is.
      const again = (
        await inject({ method: 'POST', url: '/v1/privacy/requests', payload: { kind: 'portability' } })
      ).json();
      const zipUrl = (await inject({ url: `/v1/privacy/requests/${again.id}` })).json().export.url as string;
      const refused = await app.inject({ method: 'POST', url: zipUrl, headers: { accept: 'text/html' } });
      expect(refused.statusCode).toBe(406);
      expect(refused.json().code).toBe('HF_DATA_RIGHTS_NOT_ACCEPTABLE');
      const zip = await app.inject({ method: 'POST', url: zipUrl, headers: { accept: 'application/zip' } });
      expect(zip.statusCode).toBe(200);
      expect(zip.headers['content-type']).toBe('application/zip');
      expect(zip.rawPayload.subarray(0, 4).readUInt32LE(0)).toBe(0x04034b50);
      expect(zip.rawPayload.includes(Buffer.from('messages.json'))).toBe(true);
      expect(
        (await app.inject({ method: 'POST', url: zipUrl, headers: { accept: 'application/zip' } })).statusCode,
      ).toBe(410);
      expect(second.json()).toMatchObject({ code: 'HF_DATA_RIGHTS_EXPORT_GONE' });
      expect((await app.inject({ method: 'POST', url: '/v1/privacy/exports/not-a-token' })).statusCode).toBe(410);
      await app.audit.flush();
      expect(JSON.stringify(await rowsOf(sql`select * from audit.events`))).not.toContain(token);
      expect(logs.text()).not.toContain(token);
    } finally {
      receiver.close();
      await app.close();
    }
  });
});

describe('restriction, correction and the admin queue', () => {
  it('a restricted account sends no messages; a correction applies at once and is recorded', async () => {
    const { app } = await testApp(database);
    try {
      const { apiKey } = await signup(app);
      const auth = bearer(apiKey);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/privacy/requests',
            headers: auth,
            payload: { kind: 'restriction' },
          })
        ).json().status,
      ).toBe('fulfilled');
      const send = await app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: auth,
        payload: { sessionId: 'wa-1', to: '+254711000009', text: 'hi' },
      });
      expect(send.statusCode).toBe(403);
      expect(send.json().code).toBe('HF_DATA_RIGHTS_RESTRICTED');
      const patched = await app.inject({
        method: 'PATCH',
        url: '/v1/privacy/profile',
        headers: auth,
        payload: { name: 'Amina O.' },
      });
      expect(patched.statusCode).toBe(200);
      expect(patched.json()).toMatchObject({
        account: { name: 'Amina O.' },
        request: { kind: 'correction', status: 'fulfilled' },
      });
      expect((await app.inject({ url: '/v1/me', headers: auth })).json().account.name).toBe('Amina O.');
      // Withdrawal of consent: the consent package's withdrawal for every consent id of the account, in the ledger.
      expect(
        (await app.inject({ method: 'PUT', url: '/v1/consent', headers: auth, payload: { analytics: true } }))
          .statusCode,
      ).toBe(200);
      const withdrawn = (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: auth,
          payload: { kind: 'withdraw_consent' },
        })
      ).json();
      expect(withdrawn.status).toBe('fulfilled');
      const ledger = (await rowsOf(
        sql`select action from consent.records where subject_id = ${patched.json().account.id} order by created_at`,
      )) as { action: string }[];
      expect(ledger.map((r) => r.action)).toEqual(['grant', 'withdraw']);
    } finally {
      await app.close();
    }
  });

  it('answers bad input in the one shape: unknown kinds, bad contacts, others’ requests, missing subjects', async () => {
    const { app } = await testApp(database);
    try {
      const one = await signup(app);
      const two = await signup(app);
      const cases = [
        [
          await app.inject({
            method: 'POST',
            url: '/v1/privacy/requests',
            headers: bearer(one.apiKey),
            payload: { kind: 'forget-me-maybe' },
          }),
          400,
        ],
        [
          await app.inject({
            method: 'POST',
            url: '/v1/privacy/requests',
            headers: bearer(one.apiKey),
            payload: { kind: 'deletion', contact: '0711000001' },
          }),
          400,
        ],
        [
          await app.inject({
            method: 'POST',
            url: '/v1/admin/privacy/requests',
            headers: admin,
            payload: { kind: 'access', accountId: '00000000-0000-4000-8000-000000000000', verification: 'email reply' },
          }),
          404,
        ],
        [
          await app.inject({
            method: 'POST',
            url: '/v1/admin/privacy/requests',
            headers: admin,
            payload: { kind: 'access', email: 'a@b.co', accountId: one.account.id },
          }),
          400,
        ],
        [await app.inject({ method: 'POST', url: '/v1/privacy/requests', payload: { kind: 'access' } }), 401],
      ] as const;
      for (const [r, status] of cases) {
        expect(r.statusCode, r.body).toBe(status);
        expect(Object.keys(r.json()).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
      }
      const mine = (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: bearer(one.apiKey),
          payload: { kind: 'objection', details: 'no profiling' },
        })
      ).json();
      const theirs = await app.inject({ url: `/v1/privacy/requests/${mine.id}`, headers: bearer(two.apiKey) });
      expect(theirs.statusCode).toBe(404);
      expect(theirs.json().code).toBe('HF_DATA_RIGHTS_NOT_FOUND');
      // The admin answers the objection; an emailed request waits for verification.
      const fulfilled = await app.inject({
        method: 'POST',
        url: `/v1/admin/privacy/requests/${mine.id}/fulfil`,
        headers: admin,
        payload: { note: 'profiling off' },
      });
      expect(fulfilled.json().status).toBe('fulfilled');
      // The requester's account was told of each change: filed, then fulfilled.
      const told = (await rowsOf(
        sql`select data from notify.outbox where account_id = ${one.account.id} and kind = 'privacy.request.updated' order by created_at`,
      )) as { data: { requestId: string; status: string } }[];
      expect(told.filter((n) => n.data.requestId === mine.id).map((n) => n.data.status)).toEqual(['open', 'fulfilled']);
      const emailed = (
        await app.inject({
          method: 'POST',
          url: '/v1/admin/privacy/requests',
          headers: admin,
          payload: { kind: 'access', email: 'no-account@example.org' },
        })
      ).json();
      expect(emailed).toMatchObject({
        status: 'open',
        filedBy: 'admin',
        verification: null,
        subject: { kind: 'email', email: 'no-account@example.org' },
      });
      const extended = await app.inject({
        method: 'POST',
        url: `/v1/admin/privacy/requests/${emailed.id}/extend`,
        headers: admin,
        payload: { days: 30, reason: 'identity check by post' },
      });
      expect(extended.json().extendedDueAt).toBeDefined();
      expect(
        (
          await app.inject({
            method: 'POST',
            url: `/v1/admin/privacy/requests/${emailed.id}/extend`,
            headers: admin,
            payload: { days: 30, reason: 'again' },
          })
        ).statusCode,
      ).toBe(409);
      const queue = (
        await app.inject({ url: '/v1/admin/privacy/requests?status=open&kind=access', headers: admin })
      ).json();
      expect(queue.requests.map((r: { id: string }) => r.id)).toContain(emailed.id);
      expect((await app.inject({ url: '/v1/admin/privacy/requests', headers: bearer(one.apiKey) })).statusCode).toBe(
        403,
      );
    } finally {
      await app.close();
    }
  });
});

describe('an objection names the use, a withdrawal the consent (issue 32 item 6)', () => {
  it('files an objection about a §2 use, with the policy’s words first and the person’s after; it waits for the admin', async () => {
    const { app } = await testApp(database);
    try {
      const { apiKey } = await signup(app);
      const filed = await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: bearer(apiKey),
        payload: { kind: 'objection', purpose: 'analytics', details: 'I do not want my usage analysed' },
      });
      expect(filed.statusCode, filed.body).toBe(202);
      expect(filed.json()).toMatchObject({
        kind: 'objection',
        status: 'open',
        details:
          'Objection to this use (§2, analytics): Analyze aggregate usage patterns to improve features and performance.\nI do not want my usage analysed',
      });
      const other = await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: bearer(apiKey),
        payload: { kind: 'objection', purpose: 'other', details: 'profiling for ads' },
      });
      expect(other.json()).toMatchObject({ status: 'open', details: 'Objection to another use:\nprofiling for ads' });
      // Without a purpose, as before: the details as given.
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/privacy/requests',
            headers: bearer(apiKey),
            payload: { kind: 'objection', details: 'no marketing' },
          })
        ).json().details,
      ).toBe('no marketing');
    } finally {
      await app.close();
    }
  });

  it('withdraws the analytics consent in the ledger; another consent is left to the admin and the ledger untouched', async () => {
    const { app } = await testApp(database);
    try {
      const { account, apiKey } = await signup(app);
      const auth = bearer(apiKey);
      expect(
        (await app.inject({ method: 'PUT', url: '/v1/consent', headers: auth, payload: { analytics: true } }))
          .statusCode,
      ).toBe(200);
      const actions = async () =>
        (
          (await rowsOf(
            sql`select action from consent.records where subject_id = ${account.id} order by created_at`,
          )) as { action: string }[]
        ).map((r) => r.action);

      const other = await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: auth,
        payload: { kind: 'withdraw_consent', consent: 'other', details: 'sharing my data with Example Ltd' },
      });
      expect(other.statusCode, other.body).toBe(202);
      expect(other.json()).toMatchObject({
        status: 'open',
        details: 'Withdrawal of another consent (not in the consent ledger):\nsharing my data with Example Ltd',
      });
      expect(await actions()).toEqual(['grant']);
      expect(
        (
          await app.inject({
            method: 'POST',
            url: `/v1/admin/privacy/requests/${other.json().id}/fulfil`,
            headers: admin,
            payload: { note: 'no longer shared' },
          })
        ).json().status,
      ).toBe('fulfilled');
      expect(await actions()).toEqual(['grant']);

      const analytics = await app.inject({
        method: 'POST',
        url: '/v1/privacy/requests',
        headers: auth,
        payload: { kind: 'withdraw_consent', consent: 'analytics' },
      });
      expect(analytics.json()).toMatchObject({
        status: 'fulfilled',
        details: 'Withdrawal of consent: analytics cookies (§7).',
      });
      expect(analytics.json().history.at(-1)).toMatchObject({ event: 'consent-withdrawn', note: '1 ledger record(s)' });
      expect(await actions()).toEqual(['grant', 'withdraw']);
    } finally {
      await app.close();
    }
  });

  it('answers fields that do not go together, unknown uses and consents, in the one shape (400 HF_VALIDATION_FAILED)', async () => {
    const { app } = await testApp(database);
    try {
      const { apiKey } = await signup(app);
      const bad = [
        { kind: 'access', purpose: 'analytics' },
        { kind: 'objection', purpose: 'legal' },
        { kind: 'objection', purpose: 'marketing' },
        { kind: 'objection', purpose: 'other' },
        { kind: 'objection', purpose: 'other', details: '   ' },
        { kind: 'objection', consent: 'analytics' },
        { kind: 'withdraw_consent', consent: 'marketing' },
        { kind: 'withdraw_consent', consent: 'other' },
        { kind: 'withdraw_consent', consent: 'analytics', contact: '+254711000001' },
        { kind: 'withdraw_consent', purpose: 'analytics' },
        // Within the field's 2000 characters, but not with the first line before it.
        { kind: 'objection', purpose: 'support', details: 'x'.repeat(1990) },
      ];
      for (const payload of bad) {
        const r = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: bearer(apiKey), payload });
        expect(r.statusCode, JSON.stringify(payload)).toBe(400);
        expect(r.json(), JSON.stringify(payload)).toMatchObject({ statusCode: 400, code: 'HF_VALIDATION_FAILED' });
        expect(Object.keys(r.json()).sort()).toEqual(['code', 'error', 'message', 'statusCode']);
      }
      expect((await app.inject({ url: '/v1/privacy/requests', headers: bearer(apiKey) })).json().requests).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
