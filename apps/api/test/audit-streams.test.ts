// Issue 33 item 5, "A stream to the customer's SIEM": POST/GET/DELETE /v1/audit/streams. An
// account's stream carries exactly what GET /v1/audit/events answers its key, the admin's every
// event; JSON lines in OCSF or ECS, signed with Standard Webhooks headers (checked here by a
// verifier of this file's own, itself checked against the specification's published vector), at
// least once from a cursor, backfilled from `from`, never carrying a field erased before it went,
// and a deletion record for what an erasure reached after it went.
import { eraseSubject } from '@harakaflow/audit';
import {
  standardWebhookVerifies,
  testDatabase,
  until,
  vectorsFile,
  type Receiver,
  type TestDatabase,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiActivity,
  deletionObject,
  DELETION_TYPE,
  eventLine,
  ndjson,
  toEcs,
  toOcsf,
  type StreamEvent,
} from '../src/audit/stream-format.js';
import { ADMIN_KEY, signup, startReceiver, testApp } from './helpers.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = bearer(ADMIN_KEY);
type Line = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Event = { id: string; action: string; subjectId: string | null; occurredAt: string };

/** Standard Webhooks, written from the specification apart from the webhooks package (@harakaflow/testing). */
const verifies = standardWebhookVerifies;

let database: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  database = await testDatabase();
  // No timer: each test sends when it means to (deliver), with no settle delay after a flush.
  ({ app } = await testApp(database, { trustProxy: ['10.0.0.0/8'], auditStreamsIntervalSeconds: 0 }));
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});

/** Makes every stream that is not failing due, and sends until a round sends no event. */
async function deliver(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await app.audit.flush();
    await database.db.execute(sql`update app.audit_streams set next_attempt_at = 'epoch' where failing_since is null`);
    if ((await app.auditStreams.deliver({ settleMs: 0 })) === 0) return;
  }
}

/** Every line a receiver was sent, in order, each request's body parsed. */
const linesOf = (r: Receiver): Line[] =>
  r.received.flatMap((q) =>
    q.body
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line),
  );
const idsOf = (lines: Line[], format: 'ocsf' | 'ecs') =>
  lines.filter((l) => l.type !== DELETION_TYPE).map((l) => (format === 'ocsf' ? l.metadata.uid : l.event.id) as string);

async function streamsOf(headers: Record<string, string>) {
  const res = await app.inject({ url: '/v1/audit/streams', headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().streams as Line[];
}

/** Every event a principal reads on GET /v1/audit/events (newest first, every page). */
async function trail(headers: Record<string, string>, query = ''): Promise<Event[]> {
  await app.audit.flush();
  const seen: Event[] = [];
  let cursor: string | null = null;
  for (;;) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const res: { statusCode: number; body: string; json(): any } = await app.inject({
      url: `/v1/audit/events?limit=500${query}${cursor ? `&cursor=${cursor}` : ''}`,
      headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    seen.push(...res.json().events);
    cursor = res.json().nextCursor;
    if (!cursor) return seen;
  }
}

/** An account that used its key from its own address and browser. */
async function activeAccount(ip: string) {
  const { account, apiKey } = await signup(app);
  const ua = `Mozilla/5.0 (X11; Linux x86_64) Firefox/${ip.split('.').at(-1)}.0`;
  const as = (o: InjectOptions) =>
    app.inject({
      remoteAddress: '10.0.0.9',
      ...o,
      headers: { 'x-forwarded-for': ip, 'user-agent': ua, ...bearer(apiKey), ...o.headers },
    });
  expect((await as({ url: '/v1/me' })).statusCode).toBe(200);
  expect(
    (
      await as({
        method: 'PUT',
        url: '/v1/whatsapp/sessions/wa-1/credentials/creds',
        payload: { value: { noiseKey: 'k' } },
      })
    ).statusCode,
  ).toBe(200);
  return { account, apiKey, ip, ua, as };
}

async function register(headers: Record<string, string>, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/v1/audit/streams', headers, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { stream: Line; secret: string };
}

describe('the signature check of this file', () => {
  const file = vectorsFile('webhooks/known-answers.json');
  it.skipIf(!file)("reproduces the specification's published vector", () => {
    const known = JSON.parse(readFileSync(file!, 'utf8')).standardWebhooks[0];
    const headers = {
      'webhook-id': known.id,
      'webhook-timestamp': String(known.timestamp),
      'webhook-signature': known.signature,
    };
    expect(verifies(known.secret, headers, known.payload)).toBe(true);
    expect(verifies(known.secret, headers, `${known.payload} `)).toBe(false);
  });
});

describe('audit streams', () => {
  let a: Awaited<ReturnType<typeof activeAccount>>;
  let b: Awaited<ReturnType<typeof activeAccount>>;
  let aReceiver: Receiver;
  let adminReceiver: Receiver;
  let aStream: { stream: Line; secret: string };
  let adminStream: { stream: Line; secret: string };
  const receivers: Receiver[] = [];
  const receiver = async () => {
    const r = await startReceiver(204);
    receivers.push(r);
    return r;
  };
  afterAll(() => receivers.forEach((r) => r.close()));

  beforeAll(async () => {
    a = await activeAccount('203.0.113.10');
    b = await activeAccount('203.0.113.20');
    aReceiver = await receiver();
    adminReceiver = await receiver();
  });

  it('registers a stream with a whsec_ secret shown once; GET never shows it, nor the query string', async () => {
    aStream = await register(bearer(a.apiKey), { url: `${aReceiver.url}?token=s3cr3t-in-query`, format: 'ocsf' });
    expect(aStream.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(aStream.stream).toMatchObject({
      scope: 'own',
      accountId: a.account.id,
      format: 'ocsf',
      status: 'active',
      delivered: 0,
      url: `${aReceiver.url}?…`,
    });
    adminStream = await register(admin, { url: adminReceiver.url, format: 'ecs' });
    expect(adminStream.stream).toMatchObject({ scope: 'all', accountId: null, format: 'ecs' });

    const own = await streamsOf(bearer(a.apiKey));
    expect(own.map((s) => s.id)).toEqual([aStream.stream.id]);
    const all = await streamsOf(admin);
    expect(all.map((s) => s.id)).toEqual(expect.arrayContaining([aStream.stream.id, adminStream.stream.id]));
    const text = JSON.stringify([own, all]);
    for (const needle of [aStream.secret, adminStream.secret, 's3cr3t', 'secret']) expect(text).not.toContain(needle);
    // Registration is audited, in the account's own trail, without the query string or the secret.
    const created = (await trail(bearer(a.apiKey), '&action=audit.stream.created'))[0] as Line;
    expect(created).toMatchObject({
      subjectId: a.account.id,
      resource: `audit-stream:${aStream.stream.id}`,
      details: { streamId: aStream.stream.id, format: 'ocsf', host: new URL(aReceiver.url).host, scope: 'own' },
    });
    expect(JSON.stringify(created)).not.toContain('s3cr3t');
  });

  it('sends an account exactly its own trail and the admin every event, signed, as JSON lines', async () => {
    await a.as({ url: '/v1/me' });
    await b.as({ url: '/v1/me' });
    await deliver();
    expect(aReceiver.received.length).toBeGreaterThan(0);
    for (const [r, s] of [
      [aReceiver, aStream],
      [adminReceiver, adminStream],
    ] as const) {
      for (const q of r.received) {
        expect(q.headers['content-type']).toBe('application/x-ndjson');
        expect(verifies(s.secret, q.headers, q.body), 'signature').toBe(true);
        expect(q.body.endsWith('\n')).toBe(true);
      }
    }
    const [aNow] = await streamsOf(bearer(a.apiKey));
    const aLines = linesOf(aReceiver);
    const delivered = idsOf(aLines, 'ocsf');
    expect(new Set(delivered).size).toBe(delivered.length);
    // Exactly what GET /v1/audit/events answers A's key, from the stream's start to its cursor.
    const expected = (await trail(bearer(a.apiKey)))
      .map((e) => e.id)
      .filter((id) => id > aStream.stream.cursor && id <= aNow!.cursor)
      .sort();
    expect([...delivered].sort()).toEqual(expected);
    expect(aLines.every((l) => l.actor.user.uid === a.account.id)).toBe(true);
    const me = aLines.find((l) => l.http_request?.url?.path === '/v1/me' && l.http_response?.code === 200)!;
    expect(me).toMatchObject({
      class_uid: 6003,
      category_uid: 6,
      activity_id: 2,
      type_uid: 600302,
      severity_id: 1,
      status_id: 1,
      metadata: { version: '1.3.0', product: { name: 'HarakaFlow Privacy Kit', vendor_name: 'HarakaFlow' } },
      http_request: { http_method: 'GET', user_agent: a.ua },
      src_endpoint: { ip: a.ip },
    });
    expect(typeof me.time).toBe('number');
    // Its credential write came before the stream (registered without `from`): not sent.
    expect(aLines.find((l) => l.unmapped?.action === 'vault.secret.write')).toBeUndefined();
    const text = JSON.stringify(aLines);
    for (const needle of [b.account.id, b.ip, b.ua, a.apiKey]) expect(text).not.toContain(needle);
    expect(aNow).toMatchObject({ status: 'active', failures: 0, lastErrorStatus: null });
    expect(aNow!.delivered).toBe(delivered.length);
    expect(aNow!.lastDeliveryAt).toEqual(expect.any(String));

    // The admin's: every event in its range, ECS.
    const [adminNow] = (await streamsOf(admin)).filter((s) => s.id === adminStream.stream.id);
    const adminLines = linesOf(adminReceiver);
    const adminIds = idsOf(adminLines, 'ecs');
    const everything = (await trail(admin))
      .map((e) => e.id)
      .filter((id) => id > adminStream.stream.cursor && id <= adminNow!.cursor)
      .sort();
    expect([...adminIds].sort()).toEqual(everything);
    const users = new Set(adminLines.map((l) => l.user?.id));
    expect(users).toContain(a.account.id);
    expect(users).toContain(b.account.id);
    const bMe = adminLines.find((l) => l.user?.id === b.account.id && l.url?.path === '/v1/me')!;
    expect(bMe).toMatchObject({
      ecs: { version: expect.any(String) },
      event: { action: 'http.request', kind: 'event', category: ['web'], outcome: 'success' },
      http: { request: { method: 'GET' }, response: { status_code: 200 } },
      source: { ip: b.ip },
      user_agent: { original: b.ua },
    });
    expect(bMe['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('sends again what a receiver refused (500), and moves the cursor only after a 2xx', async () => {
    const [start] = await streamsOf(bearer(a.apiKey));
    aReceiver.answer(500);
    const sentBefore = aReceiver.received.length;
    await a.as({ url: '/v1/usage' });
    await deliver();
    expect(aReceiver.received.length).toBe(sentBefore + 1);
    const refused = aReceiver.received.at(-1)!;
    const refusedIds = refused.body
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).metadata.uid as string);
    expect(refusedIds.length).toBeGreaterThan(0);
    const [failing] = await streamsOf(bearer(a.apiKey));
    expect(failing).toMatchObject({ status: 'failing', cursor: start!.cursor, lastErrorStatus: 500, failures: 1 });
    expect(failing!.failingSince).toEqual(expect.any(String));
    // The failure is audited in the account's trail: no URL, no secret.
    const failed = (await trail(bearer(a.apiKey), '&action=audit.stream.delivery_failed'))[0] as Line;
    expect(failed).toMatchObject({
      outcome: 'failure',
      details: { streamId: aStream.stream.id, status: 500, attempts: 1 },
    });
    expect(JSON.stringify(failed)).not.toMatch(/s3cr3t|whsec_|\/hook/);

    aReceiver.answer(200);
    await database.db.execute(sql`update app.audit_streams set next_attempt_at = 'epoch'`);
    await deliver();
    const again = aReceiver.received.slice(sentBefore + 1).flatMap((q) =>
      q.body
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).metadata.uid as string),
    );
    for (const id of refusedIds) expect(again).toContain(id);
    const [recovered] = await streamsOf(bearer(a.apiKey));
    expect(recovered).toMatchObject({ status: 'active', failures: 0, failingSince: null });
    expect(recovered!.cursor > start!.cursor).toBe(true);
    expect(recovered!.cursor >= refusedIds.at(-1)!).toBe(true);
    aReceiver.answer(204);
  });

  it('backfills from `from`', async () => {
    const r = await receiver();
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const backfill = await register(bearer(a.apiKey), { url: r.url, format: 'ecs', from: since });
    await deliver();
    const ids = idsOf(linesOf(r), 'ecs');
    const expected = (await trail(bearer(a.apiKey), `&from=${encodeURIComponent(since)}`)).map((e) => e.id);
    const [now] = (await streamsOf(bearer(a.apiKey))).filter((s) => s.id === backfill.stream.id);
    expect([...ids].sort()).toEqual(expected.filter((id) => id <= now!.cursor).sort());
    // Its first requests, made before any stream existed, are there: the signup's key used, the credential written.
    expect(linesOf(r).some((l) => l.event?.action === 'vault.secret.write' && l.event.category[0] === 'iam')).toBe(
      true,
    );
    for (const q of r.received) expect(verifies(backfill.secret, q.headers, q.body)).toBe(true);
    expect(
      (
        await app.inject({
          method: 'DELETE',
          url: `/v1/audit/streams/${backfill.stream.id}`,
          headers: bearer(a.apiKey),
        })
      ).statusCode,
    ).toBe(204);
  });

  it('sends an event erased before it goes without its erased fields', async () => {
    const c = await activeAccount('203.0.113.30');
    await c.as({ url: '/v1/me?q=private-path-value' });
    await app.audit.flush();
    const theirs = await trail(admin, `&subjectId=${c.account.id}`);
    expect(theirs.length).toBeGreaterThan(0);
    // Erased before the admin's stream sends them.
    await eraseSubject(database.db, app.audit.writer, c.account.id);
    await deliver();
    const lines = linesOf(adminReceiver);
    for (const e of theirs) {
      const line = lines.find((l) => l.event?.id === e.id);
      expect(line, e.action).toBeDefined();
      expect(line!.user, e.action).toBeUndefined();
      expect(line!.source, e.action).toBeUndefined();
      expect(line!.user_agent, e.action).toBeUndefined();
      expect(line!.url, e.action).toBeUndefined();
      expect(line!.harakaflow.audit.erased_at).toEqual(expect.any(String));
    }
    const text = JSON.stringify(lines);
    for (const needle of [c.account.id, c.ip, c.ua]) expect(text).not.toContain(needle);
  });

  it('tells a stream that sent events before their erasure, with a deletion record naming them', async () => {
    const d = await activeAccount('203.0.113.40');
    const r = await receiver();
    const dStream = await register(bearer(d.apiKey), {
      url: r.url,
      format: 'ocsf',
      from: new Date(Date.now() - 3_600_000).toISOString(),
    });
    await d.as({ url: '/v1/me' });
    await deliver();
    const sent = idsOf(linesOf(r), 'ocsf');
    expect(sent.length).toBeGreaterThan(2);
    const adminSent = new Set(idsOf(linesOf(adminReceiver), 'ecs'));
    const before = r.received.length;
    const adminBefore = adminReceiver.received.length;

    const erased = await eraseSubject(database.db, app.audit.writer, d.account.id);
    expect(erased).toBeGreaterThan(0);
    await deliver();
    const deletions = r.received
      .slice(before)
      .flatMap((q) =>
        q.body
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
      )
      .filter((l) => l.type === DELETION_TYPE);
    expect(deletions.length).toBeGreaterThan(0);
    const named = deletions.flatMap((l) => l.ids as string[]);
    // Every event it sent that carried D (all of them: its own trail) is named, once.
    expect([...named].sort()).toEqual([...sent].sort());
    expect(deletions[0]).toMatchObject({
      type: DELETION_TYPE,
      erasureId: expect.any(String),
      time: expect.any(Number),
      metadata: { version: '1.3.0' },
    });
    const erasure = (await trail(admin, '&action=audit.subject.erased'))[0] as Line;
    expect(deletions.every((l) => l.erasureId === erasure.details.erasureId)).toBe(true);

    // The admin's stream had sent D's events too: the same record, in ECS.
    const adminDeletions = adminReceiver.received
      .slice(adminBefore)
      .flatMap((q) =>
        q.body
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
      )
      .filter((l) => l.type === DELETION_TYPE);
    const adminNamed = adminDeletions.flatMap((l) => l.ids as string[]);
    expect(adminNamed.length).toBeGreaterThan(0);
    for (const id of adminNamed) expect(sent.includes(id) || adminSent.has(id)).toBe(true);
    expect(adminDeletions[0]).toMatchObject({
      type: DELETION_TYPE,
      '@timestamp': expect.any(String),
      event: { action: DELETION_TYPE },
    });

    // Told once: nothing is named again.
    const after = r.received.length;
    await deliver();
    expect(r.received.slice(after).some((q) => q.body.includes(DELETION_TYPE))).toBe(false);
    for (const q of r.received) expect(verifies(dStream.secret, q.headers, q.body)).toBe(true);
  });

  it("ends an erased account's stream: its deletion record goes, then the stream", async () => {
    const e = await activeAccount('203.0.113.50');
    const r = await receiver();
    const eStream = await register(bearer(e.apiKey), {
      url: r.url,
      format: 'ecs',
      from: new Date(Date.now() - 3_600_000).toISOString(),
    });
    await deliver();
    const sent = idsOf(linesOf(r), 'ecs');
    expect(sent.length).toBeGreaterThan(0);
    const before = r.received.length;
    // Its own deletion (purged at once in tests): every handler erases the account, this one ends its streams.
    const deletion = await e.as({ method: 'POST', url: '/v1/privacy/requests', payload: { kind: 'deletion' } });
    expect(deletion.statusCode, deletion.body).toBe(202);
    await until(
      async () =>
        (await app.inject({ url: '/v1/admin/privacy/requests?kind=deletion&limit=200', headers: admin }))
          .json()
          .requests.find((q: { id: string }) => q.id === deletion.json().id)?.status === 'fulfilled',
    );
    expect((await streamsOf(admin)).find((s) => s.id === eStream.stream.id)).toMatchObject({ status: 'ending' });
    await deliver();
    const after = r.received.slice(before).flatMap((q) =>
      q.body
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line),
    );
    // Only deletion records: no event of an erased account goes any more.
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((l) => l.type === DELETION_TYPE)).toBe(true);
    const named = after.flatMap((l) => l.ids as string[]);
    for (const id of sent) expect(named).toContain(id);
    for (const q of r.received) expect(verifies(eStream.secret, q.headers, q.body)).toBe(true);
    // Still there within its grace; gone after it, with its secret, audited under no subject.
    expect((await streamsOf(admin)).map((s) => s.id)).toContain(eStream.stream.id);
    await database.db.execute(
      sql`update app.audit_streams set ending_at = now() - interval '20 minutes' where id = ${eStream.stream.id}`,
    );
    await deliver();
    expect((await streamsOf(admin)).map((s) => s.id)).not.toContain(eStream.stream.id);
    const gone = (await trail(admin, '&action=audit.stream.deleted')).find(
      (x) => (x as Line).resource === `audit-stream:${eStream.stream.id}`,
    ) as Line;
    expect(gone).toMatchObject({ subjectId: null, details: { streamId: eStream.stream.id, reason: 'account-erased' } });
  });

  it("answers 404 for another account's stream, and lets its owner delete it", async () => {
    expect((await streamsOf(bearer(b.apiKey))).map((s) => s.id)).not.toContain(aStream.stream.id);
    const other = await app.inject({
      method: 'DELETE',
      url: `/v1/audit/streams/${aStream.stream.id}`,
      headers: bearer(b.apiKey),
    });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ statusCode: 404, code: 'HF_AUDIT_STREAM_NOT_FOUND' });
    const unknown = await app.inject({
      method: 'DELETE',
      url: '/v1/audit/streams/00000000-0000-4000-8000-000000000000',
      headers: bearer(a.apiKey),
    });
    expect(unknown.json().code).toBe('HF_AUDIT_STREAM_NOT_FOUND');
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/audit/streams/${aStream.stream.id}`, headers: bearer(a.apiKey) }))
        .statusCode,
    ).toBe(204);
    expect(await streamsOf(bearer(a.apiKey))).toEqual([]);
    const deleted = (await trail(bearer(a.apiKey), '&action=audit.stream.deleted'))[0] as Line;
    expect(deleted).toMatchObject({ resource: `audit-stream:${aStream.stream.id}`, subjectId: a.account.id });
    // Nothing more goes to it.
    const n = aReceiver.received.length;
    await a.as({ url: '/v1/me' });
    await deliver();
    expect(aReceiver.received.length).toBe(n);
  });

  it('refuses bad input with stable codes, never a 500', async () => {
    const post = (payload: unknown, headers = bearer(b.apiKey)) =>
      app.inject({ method: 'POST', url: '/v1/audit/streams', headers, payload: payload as Record<string, unknown> });
    const code = async (payload: unknown) => {
      const res = await post(payload);
      return [res.statusCode, res.json().code];
    };
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect(await code({ url: aReceiver.url, format: 'cef' })).toEqual([400, 'HF_VALIDATION_FAILED']);
    expect(await code({ url: aReceiver.url })).toEqual([400, 'HF_VALIDATION_FAILED']);
    expect(await code({ url: aReceiver.url, format: 'ocsf', from: 'yesterday' })).toEqual([
      400,
      'HF_VALIDATION_FAILED',
    ]);
    expect(await code({ url: aReceiver.url, format: 'ocsf', from: future })).toEqual([
      400,
      'HF_AUDIT_STREAM_INVALID_FROM',
    ]);
    expect(await code({ url: 'not a url at all', format: 'ocsf' })).toEqual([400, 'HF_AUDIT_STREAM_INVALID_URL']);
    expect(await code({ url: 'https://user:pw@127.0.0.1/x', format: 'ocsf' })).toEqual([
      400,
      'HF_AUDIT_STREAM_INVALID_URL',
    ]);
    expect(await code({ url: 'ftp://127.0.0.1/x', format: 'ocsf' })).toEqual([400, 'HF_AUDIT_STREAM_INVALID_URL']);
    // At most 5 streams.
    for (let i = 0; i < 5; i++) await register(bearer(b.apiKey), { url: aReceiver.url, format: 'ocsf' });
    expect(await code({ url: aReceiver.url, format: 'ocsf' })).toEqual([409, 'HF_AUDIT_STREAM_LIMIT']);
    for (const s of await streamsOf(bearer(b.apiKey)))
      await app.inject({ method: 'DELETE', url: `/v1/audit/streams/${s.id}`, headers: bearer(b.apiKey) });
  });

  it('refuses http and private destinations outside test settings', async () => {
    const { app: strict } = await testApp(database, {
      webhooksAllowHttp: false,
      webhooksAllowPrivateDestinations: false,
      auditStreamsIntervalSeconds: 0,
    });
    try {
      const post = async (url: string) => {
        const res = await strict.inject({
          method: 'POST',
          url: '/v1/audit/streams',
          headers: bearer(b.apiKey),
          payload: { url, format: 'ocsf' },
        });
        return [res.statusCode, res.json().code, res.json().message as string];
      };
      for (const url of [
        'http://203.0.113.5/hook',
        'https://127.0.0.1/hook',
        'https://10.1.2.3/hook',
        'https://169.254.169.254/latest',
        'https://[::1]/hook',
        'https://[::ffff:192.168.0.1]/x',
        'https://localhost/x',
        'https://intranet/x',
      ]) {
        const [status, code, message] = await post(url);
        expect([url, status, code]).toEqual([url, 400, 'HF_AUDIT_STREAM_INVALID_URL']);
        // The answer says why, never the URL.
        expect(message).not.toContain(new URL(url).hostname.replace(/^\[|\]$/g, ''));
      }
    } finally {
      await strict.close();
    }
  });
});

describe('the OCSF and ECS mapping', () => {
  const uuid = fc.uuid({ version: 7 });
  const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
  const hostile = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(
      '\n',
      '\r\n',
      '\u2028',
      '\u0000',
      '\ud800',
      '"}\n{"class_uid":1',
      '__proto__',
      '../../etc',
      '<script>',
    ),
  );
  const event: fc.Arbitrary<StreamEvent> = fc.record({
    id: uuid,
    occurredAt: fc.date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('9999-12-31T00:00:00Z'),
      noInvalidDate: true,
    }),
    kind: fc.constantFrom('access' as const, 'security' as const),
    action: fc.oneof(
      fc.constantFrom(
        'http.request',
        'vault.secret.read',
        'api_key.created',
        'account.deleted',
        'consent.granted',
        'audit.subject.erased',
        'quota.ban.applied',
        'x',
      ),
      fc.string(),
    ),
    resource: nullable(hostile),
    outcome: nullable(fc.constantFrom('success', 'failure', 'denied')),
    requestId: nullable(hostile),
    method: nullable(fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'), hostile)),
    route: nullable(hostile),
    path: nullable(hostile),
    status: nullable(fc.integer({ min: 100, max: 599 })),
    durationMs: nullable(fc.double({ min: 0, max: 1e6, noNaN: true })),
    subjectId: nullable(hostile),
    ip: nullable(fc.oneof(fc.ipV4(), fc.ipV6(), hostile)),
    userAgent: nullable(hostile),
    details: fc.oneof(fc.constant(null), fc.jsonValue()),
    erasedAt: nullable(fc.date({ noInvalidDate: true })),
  });

  // Details as they come back from jsonb (-0 is 0 there).
  const asJson = (v: unknown) => (v === null ? undefined : JSON.parse(JSON.stringify(v)));
  it('gives one line of JSON per event, whatever its strings, with nothing the event does not hold', () => {
    fc.assert(
      fc.property(event, fc.constantFrom('ocsf' as const, 'ecs' as const), (e, format) => {
        const line = eventLine(e, format);
        expect(line).not.toMatch(/[\n\r]/);
        const parsed = JSON.parse(line) as Line;
        const text = line;
        if (format === 'ocsf') {
          expect([6003, 3001]).toContain(parsed.class_uid);
          expect(parsed.type_uid).toBe(parsed.class_uid * 100 + parsed.activity_id);
          expect(parsed.metadata).toMatchObject({ version: '1.3.0', uid: e.id });
          expect(parsed.time).toBe(e.occurredAt.getTime());
          expect(parsed.severity_id).toBe(1);
          expect(parsed.actor?.user?.uid).toBe(e.subjectId ?? undefined);
          expect(parsed.http_request?.user_agent).toBe(e.userAgent ?? undefined);
          expect(parsed.http_request?.url?.path).toBe(e.path ?? undefined);
          if (e.ip === null) expect(parsed.src_endpoint).toBeUndefined();
          expect(parsed.unmapped?.details).toEqual(asJson(e.details));
        } else {
          expect(parsed.event).toMatchObject({ id: e.id, action: e.action, kind: 'event' });
          expect(parsed['@timestamp']).toBe(e.occurredAt.toISOString());
          expect(parsed.user?.id).toBe(e.subjectId ?? undefined);
          expect(parsed.user_agent?.original).toBe(e.userAgent ?? undefined);
          expect(parsed.url?.path).toBe(e.path ?? undefined);
          if (e.ip === null) expect(parsed.source).toBeUndefined();
          expect(parsed.harakaflow?.audit?.details).toEqual(asJson(e.details));
        }
        // An erased event (its personal fields null) carries none of them, under any key.
        if (e.subjectId === null && e.ip === null && e.userAgent === null && e.path === null) {
          expect(text).not.toMatch(/"(uid|id)":null|"ip"|"user_agent":|"original"|"path"/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('maps methods to API Activity and account actions to Account Change', () => {
    expect(
      [
        apiActivity('POST'),
        apiActivity('GET'),
        apiActivity('PUT'),
        apiActivity('PATCH'),
        apiActivity('DELETE'),
        apiActivity('HEAD'),
        apiActivity(null),
      ].map((x) => x.id),
    ).toEqual([1, 2, 3, 3, 4, 99, 99]);
    const base = {
      id: '018f0000-0000-7000-8000-000000000000',
      occurredAt: new Date(0),
      resource: null,
      outcome: 'success',
      requestId: null,
      method: null,
      route: null,
      path: null,
      status: null,
      durationMs: null,
      subjectId: 'acct',
      ip: null,
      userAgent: null,
      details: null,
      erasedAt: null,
    } as const;
    expect(toOcsf({ ...base, kind: 'security', action: 'api_key.created' })).toMatchObject({
      class_uid: 3001,
      category_uid: 3,
      activity_id: 1,
      type_uid: 300101,
      user: { uid: 'acct' },
      status_id: 1,
    });
    expect(toOcsf({ ...base, kind: 'security', action: 'vault.secret.read', outcome: 'denied' })).toMatchObject({
      class_uid: 3001,
      activity_id: 99,
      status_id: 2,
      status_detail: 'denied',
    });
    expect(toOcsf({ ...base, kind: 'security', action: 'quota.ban.applied' })).toMatchObject({
      class_uid: 6003,
      activity_id: 1,
      api: { operation: 'quota.ban.applied' },
    });
    expect(
      toOcsf({ ...base, kind: 'access', action: 'http.request', method: 'DELETE', status: 404, route: '/v1/keys/:id' }),
    ).toMatchObject({ class_uid: 6003, activity_id: 4, status_id: 2, api: { operation: 'DELETE /v1/keys/:id' } });
    expect(toEcs({ ...base, kind: 'security', action: 'consent.withdrawn' })).toMatchObject({
      event: { category: ['iam'], type: ['deletion'], outcome: 'success' },
    });
    // A keyed-hash IP is no address: an opaque id.
    expect(toOcsf({ ...base, kind: 'access', action: 'http.request', ip: 'hmac:abc' }).src_endpoint).toEqual({
      uid: 'hmac:abc',
    });
    expect(toEcs({ ...base, kind: 'access', action: 'http.request', ip: 'hmac:abc' }).source).toEqual({
      address: 'hmac:abc',
    });
  });

  it('writes deletion records before events, in either format', () => {
    const d = { erasureId: 'e1', ids: ['a', 'b'], at: new Date(1000) };
    expect(deletionObject(d, 'ocsf')).toEqual({
      type: DELETION_TYPE,
      erasureId: 'e1',
      ids: ['a', 'b'],
      time: 1000,
      metadata: { version: '1.3.0', product: { name: 'HarakaFlow Privacy Kit', vendor_name: 'HarakaFlow' } },
    });
    expect(deletionObject(d, 'ecs')).toMatchObject({
      type: DELETION_TYPE,
      '@timestamp': '1970-01-01T00:00:01.000Z',
      event: { action: DELETION_TYPE },
    });
    const body = ndjson('ocsf', [d], []);
    expect(body).toBe(`${JSON.stringify(deletionObject(d, 'ocsf'))}\n`);
  });
});
