// Issue 28 item 6: after a long Postgres outage the app did not reliably come back by itself. With
// Postgres stopped for about a minute under load (AUDIT_SPILL_MAX_MB=1), one run's /health still
// said `database: down` 90 s after Postgres accepted connections again, its backlog never written,
// a spill file left and no `audit.gap` declared. Causes: postgres.js's reconnection backoff grows
// to 10-20 s after a dozen failed attempts, /health pinged through that pool, and the audit writer's
// own backoff reached 30 s; and a gap of dropped events still waiting at shutdown was lost.
//
// Here the outage is test-sized (Postgres "stopped" at a TCP proxy of the test's own: connections
// refused), the writer's bounds small, and what is asserted is the order of what happens:
// cut → events spilled, then dropped (spill full) → Postgres back → the first /health probe says
// `database: up` → backlog written, spill replayed, one `audit.gap` declaring exactly the dropped
// events, after every replayed event in the chain → no spill file left, /health `ok`, verify intact.
// A second case shuts the app down while Postgres is still away: the gap is declared at close and
// reaches the database with the spill at the next start.
import { verifyChain } from '@harakaflow/audit';
import { resultRows } from '@harakaflow/db';
import {
  captureLogs,
  postgresUrl,
  tcpProxy,
  testDatabase,
  until,
  type TcpProxy,
  type TestDatabase,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/index.js';
import { AUDIT_KEY, testConfig } from '../helpers.js';

type Health = { status: string; database: string; audit: { backlog: number; spilledBytes: number; dropped: number } };

/** Every file under `dir`, recursively (spill files live in a per-user subdirectory, rejected ones in `rejected/`). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

// Both chain formats: 2 (the default) and 3 (issue 29: lean rows, batches by binary COPY, events
// chained when a batch or a spill file takes them).
describe.skipIf(!postgresUrl).each([2, 3] as const)(
  'a long Postgres outage, then Postgres back (chain format %i)',
  (chainVersion) => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let spillDir: string;
    beforeAll(async () => {
      database = await testDatabase();
      const target = new URL(database.url!);
      proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    });
    afterAll(async () => {
      await proxy?.close();
      await database?.close();
    });
    // A failed case must not leave the next one without its database.
    afterEach(() => proxy.restore());

    const start = () =>
      buildApp(
        testConfig({
          databaseUrl: proxy.through(database.url!),
          auditSpillDir: spillDir,
          auditChainVersion: chainVersion,
          // Small bounds: the spill holds two or three files of 10 events, then access events are dropped.
          auditTuning: {
            batchSize: 10,
            maxBuffered: 20,
            flushIntervalMs: 20,
            retryBaseMs: 50,
            spillMaxBytes: 24 * 1024,
          },
        }),
        { logStream: captureLogs().stream },
      );
    const health = async (app: FastifyInstance) => {
      const response = await app.inject('/health');
      return { code: response.statusCode, body: response.json<Health>() };
    };
    /** /health once the audit log has caught up (status ok, nothing in memory), or its last answer after 60 s. */
    const caughtUp = async (app: FastifyInstance) => {
      let body = (await health(app)).body;
      await until(
        async () => (body = (await health(app)).body).status === 'ok' && body.audit.backlog === 0,
        60_000,
      ).catch(() => {});
      return body;
    };
    /** Anonymous pings (an access event each) until the audit log has dropped at least `drops`; how many were answered. */
    const loadUntilDropped = async (app: FastifyInstance, drops: number) => {
      let answered = 0;
      for (let i = 0; i < 5000; i++) {
        const response = await app.inject('/v1/ping');
        expect(response.statusCode).toBe(200);
        answered++;
        if (i % 10 === 9) {
          const { code, body } = await health(app);
          expect(code).toBe(503);
          expect(body.database).toBe('down');
          if (body.audit.dropped >= drops) {
            expect(body.audit.spilledBytes).toBeGreaterThan(0);
            return { answered, dropped: body.audit.dropped };
          }
        }
      }
      throw new Error('the audit log never dropped an event');
    };
    const stored = async () => {
      const rows = resultRows<{ action: string; writer: string; seq: number; details: unknown }>(
        // Format 3 keeps an access event's action implied (NULL) and its writer interned.
        await database.db
          .execute(sql`select coalesce(e.action, 'http.request') as action, coalesce(e.writer, w.name) as writer, e.seq, e.details
        from audit.events e left join audit.writers w on w.id = e.writer_id order by 2, e.day, e.seq`),
      );
      return {
        access: rows.filter((r) => r.action === 'http.request'),
        gaps: rows.filter((r) => r.action === 'audit.gap'),
        rows,
      };
    };

    it('answers up at the first probe, writes the backlog, replays the spill, declares the gap, and leaves no file', async () => {
      spillDir = mkdtempSync(join(tmpdir(), 'hf-outage-'));
      const app = await start();
      try {
        await app.ready();
        expect((await health(app)).body).toMatchObject({ status: 'ok', database: 'up' });
        const before = (await stored()).access.length;

        proxy.cut({ stopped: true });
        const { answered, dropped } = await loadUntilDropped(app, 8);
        await proxy.restore();

        // The first probe once Postgres accepts connections again.
        const first = await health(app);
        expect(first.code).toBe(200);
        expect(first.body.database).toBe('up');

        // Then, by itself: backlog written, spill replayed, gap declared.
        const now = await caughtUp(app);
        expect(now).toMatchObject({ status: 'ok', database: 'up', audit: { backlog: 0, spilledBytes: 0, dropped: 0 } });
        expect(filesUnder(spillDir)).toEqual([]);

        const { access, gaps, rows } = await stored();
        // Every answered ping is stored, but those dropped; the gap declares exactly those, once.
        expect(access.length - before).toBe(answered - dropped);
        expect(gaps).toHaveLength(1);
        expect(gaps[0]!.details).toMatchObject({ count: dropped });
        // In the chain the gap follows every access event of the outage (replayed from the spill or
        // written from memory): it is declared once they are committed.
        const chain = rows.filter((r) => r.writer === gaps[0]!.writer);
        expect(chain.at(-1)).toMatchObject({ action: 'audit.gap' });
        await app.close();
        expect((await verifyChain({ db: database.db, checkpointKeys: [AUDIT_KEY] })).ok).toBe(true);
      } finally {
        await app.close();
        rmSync(spillDir, { recursive: true, force: true });
      }
    }, 600_000); // a hang guard, not a measurement

    it('declares a gap still pending at shutdown: at close, reaching the database with the spill at the next start', async () => {
      spillDir = mkdtempSync(join(tmpdir(), 'hf-outage-'));
      await database.truncate('audit');
      const first = await start();
      let second: FastifyInstance | undefined;
      try {
        await first.ready();
        proxy.cut({ stopped: true });
        const { answered, dropped } = await loadUntilDropped(first, 5);
        // SIGTERM while Postgres is still away: nothing chained may be lost, and the drops must be declared.
        await first.close();
        expect(filesUnder(spillDir).length).toBeGreaterThan(0);
        await proxy.restore();

        second = await start();
        await second.ready();
        const body = await caughtUp(second);
        expect(body).toMatchObject({ status: 'ok', audit: { spilledBytes: 0, dropped: 0 } });
        expect(filesUnder(spillDir)).toEqual([]);
        const { access, gaps } = await stored();
        expect(access.length).toBe(answered - dropped);
        expect(gaps.map((g) => (g.details as { count: number }).count)).toEqual([dropped]);
        await second.close();
        expect((await verifyChain({ db: database.db, checkpointKeys: [AUDIT_KEY] })).ok).toBe(true);
      } finally {
        await first.close();
        await second?.close();
        rmSync(spillDir, { recursive: true, force: true });
      }
    }, 600_000); // a hang guard, not a measurement
  },
);
