// Security review (issue 33 item 5, audit streams): a stream's turn that outlives its lease.
//
// `deliver()` claims up to 10 due streams with a 60 s lease, then runs them one after another,
// each up to 15 s of POST plus its reads. A tenant with 5 streams to receivers that answer a 2xx
// after 14.9 s (never failing, so never backed off) holds a turn for ~75 s: the streams claimed
// with theirs run after their lease ran out, and meanwhile another replica (or this replica's next
// tick: everyInterval does not wait for the previous one) claimed and sent them. Before the fix:
// - the stale turn ran on the row it claimed (its cursor, its erasure cursor), sent a page again,
//   and wrote its cursors back unconditionally: the cursor went backwards (the same events sent
//   again and again), and
// - an erasure could be passed over for good: the delivered-id log was written only after the
//   POST, so the other turn, looking at the erasure meanwhile, did not find the events the stale
//   turn was sending, and moved the erasure cursor past it. The receiver kept the subject's IP,
//   user agent and id, and no deletion record ever named those events.
// Here the lease running out is made by hand (next_attempt_at set to the epoch while a POST hangs).
import { eraseSubject } from '@harakaflow/audit';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStreams } from '../../src/audit/streams.js';
import { DELETION_TYPE } from '../../src/audit/stream-format.js';
import { auditStreams } from '../../src/data/schema.js';
import { ADMIN_KEY, signup, testApp } from '../helpers.js';

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
type Line = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A receiver that holds every POST until the test answers it (or answers at once when `hold` is off). */
async function holdingReceiver() {
  const bodies: string[] = [];
  const waiting: ServerResponse[] = [];
  let hold = true;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      if (hold) waiting.push(res);
      else res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/siem`,
    bodies,
    waiting,
    release: (i: number) => waiting[i]!.writeHead(204).end(),
    free: () => {
      hold = false;
      for (const res of waiting) if (!res.headersSent) res.writeHead(204).end();
    },
    close: () => server.close(),
  };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let database: TestDatabase;
let app: FastifyInstance;
/** Another replica's job: the same database, its own AuditStreams. */
let other: AuditStreams;
beforeAll(async () => {
  database = await testDatabase();
  ({ app } = await testApp(database, { auditStreamsIntervalSeconds: 0 }));
  other = new AuditStreams(app, {
    db: database.db,
    policy: { allowHttp: true, allowPrivate: true },
    intervalSeconds: 0,
    retentionDays: 30,
  });
});
afterAll(async () => {
  await app?.close();
  await database?.close();
});

const cursorOf = async (id: string) =>
  (await database.db.select({ cursor: auditStreams.cursor }).from(auditStreams).where(eq(auditStreams.id, id)))[0]!
    .cursor;
const linesOf = (bodies: string[]): Line[] =>
  bodies.flatMap((b) =>
    b
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line),
  );

async function quiet(stream: string) {
  for (let round = 0; round < 20; round++) {
    await app.audit.flush();
    await database.db.execute(sql`update app.audit_streams set next_attempt_at = 'epoch' where id = ${stream}`);
    if ((await app.auditStreams.deliver({ settleMs: 0 })) === 0) return;
  }
}

describe('an audit stream turn that outlives its lease', () => {
  it('never leaves an erasure of events it was sending unannounced', async () => {
    const r = await holdingReceiver();
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/audit/streams',
        headers: admin,
        payload: { url: r.url, format: 'ecs' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const streamId = res.json().stream.id as string;
      const c = await signup(app);
      const ip = '198.51.100.77';
      expect(
        (
          await app.inject({
            url: '/v1/me',
            remoteAddress: ip,
            headers: { authorization: `Bearer ${c.apiKey}`, 'user-agent': 'Victim-Browser/1.0' },
          })
        ).statusCode,
      ).toBe(200);
      await app.audit.flush();

      // Replica 1 reads C's events (not erased yet) and POSTs them: the receiver holds the answer.
      const first = app.auditStreams.deliver({ settleMs: 0 });
      await until(() => r.waiting.length === 1);
      expect(r.bodies[0]).toContain(c.account.id);
      // Its lease runs out (it was behind slow streams); C is erased meanwhile.
      await database.db.execute(sql`update app.audit_streams set next_attempt_at = 'epoch' where id = ${streamId}`);
      expect(await eraseSubject(database.db, app.audit.writer, c.account.id)).toBeGreaterThan(0);
      await app.audit.flush();
      // Replica 2 claims the stream, looks at the erasure, and POSTs its page (held too).
      const second = other.deliver({ settleMs: 0 });
      await until(() => r.waiting.length === 2);
      // Replica 1's POST is answered first, then replica 2's.
      r.release(0);
      await first;
      r.release(1);
      await second;
      r.free();
      await quiet(streamId);

      const lines = linesOf(r.bodies);
      const carriedC = lines
        .filter((l) => l.type !== DELETION_TYPE && l.user?.id === c.account.id)
        .map((l) => l.event.id as string);
      expect(carriedC.length).toBeGreaterThan(0);
      const named = new Set(lines.filter((l) => l.type === DELETION_TYPE).flatMap((l) => l.ids as string[]));
      // Every event that went out with C's personal fields is named by a deletion record.
      expect(carriedC.filter((id) => !named.has(id))).toEqual([]);
    } finally {
      r.close();
    }
  });

  it("never moves a stream's cursor backwards", async () => {
    const r = await holdingReceiver();
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/audit/streams',
        headers: admin,
        payload: { url: r.url, format: 'ocsf' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const streamId = res.json().stream.id as string;
      const d = await signup(app);
      await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${d.apiKey}` } });
      await app.audit.flush();

      const first = app.auditStreams.deliver({ settleMs: 0 });
      await until(() => r.waiting.length === 1);
      await database.db.execute(sql`update app.audit_streams set next_attempt_at = 'epoch' where id = ${streamId}`);
      await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${d.apiKey}` } });
      await app.audit.flush();
      // Replica 2 sends the page and more, and is answered first.
      const second = other.deliver({ settleMs: 0 });
      await until(() => r.waiting.length === 2);
      r.release(1);
      await second;
      const after = await cursorOf(streamId);
      // The stale turn's POST is answered: it must not take the cursor back to its shorter page.
      r.release(0);
      await first;
      const now = await cursorOf(streamId);
      expect(now >= after, `cursor went from ${after} back to ${now}`).toBe(true);
      r.free();
    } finally {
      r.close();
    }
  });

  it('does not send a stream whose lease another turn took while it waited its turn', async () => {
    const slow = await holdingReceiver();
    const r = await holdingReceiver();
    try {
      const make = async (url: string) => {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/audit/streams',
          headers: admin,
          payload: { url, format: 'ocsf' },
        });
        expect(res.statusCode, res.body).toBe(201);
        return res.json().stream.id as string;
      };
      // Oldest due first: the slow stream is claimed ahead of the other in one batch.
      const slowId = await make(slow.url);
      const id = await make(r.url);
      await database.db.execute(
        sql`update app.audit_streams set next_attempt_at = now() + interval '1 hour' where id not in (${slowId}, ${id})`,
      );
      await database.db.execute(sql`update app.audit_streams set next_attempt_at = '2000-01-01' where id = ${slowId}`);
      await database.db.execute(sql`update app.audit_streams set next_attempt_at = '2000-01-02' where id = ${id}`);
      const e = await signup(app);
      await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${e.apiKey}` } });
      await app.audit.flush();

      const first = app.auditStreams.deliver({ settleMs: 0 });
      await until(() => slow.waiting.length === 1);
      // The second stream's lease runs out while the first one's POST hangs; another turn sends it.
      await database.db.execute(sql`update app.audit_streams set next_attempt_at = 'epoch' where id = ${id}`);
      r.free();
      const second = other.deliver({ settleMs: 0 });
      await second;
      const sent = r.bodies.length;
      expect(sent).toBeGreaterThan(0);
      slow.free();
      await first;
      // The first turn, back from its slow stream, must not send the second one's page again.
      expect(r.bodies.length).toBe(sent);
    } finally {
      slow.close();
      r.close();
    }
  });
});
