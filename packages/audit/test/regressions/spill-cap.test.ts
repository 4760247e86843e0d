// Issue 13 item 15: while Postgres was away the writer spilled every event to disk with no cap.
// Now the spill directory is bounded; when it is full, access events are counted and dropped
// (security events kept) and one chained audit.gap event declares the gap once writes succeed, or,
// with spillFull: 'fail-closed', requests are answered 503.
import { migrate } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import audit, { auditMigrations, verifyChain } from '../../src/index.js';
import { eventsPage } from '../../src/store.js';
import { captureLogger, CHECKPOINT_KEY, flushUntilItHolds, KEYS, securityInput, writer } from '../helpers.js';

let broken: TestDatabase;
beforeEach(async () => {
  broken = await testDatabase(); // no audit schema yet: every write fails until it is migrated
});
afterEach(() => broken.close());

const access = (i: number) => ({
  kind: 'access' as const,
  action: 'http.request',
  method: 'GET',
  route: '/x',
  path: `/x/${i}`,
  status: 200,
  ip: '203.0.113.7',
  userAgent: 'test',
});
const dir = () => mkdtempSync(join(tmpdir(), 'hf-audit-cap-'));

describe('a bounded spill directory', () => {
  it('drops access events past the cap, keeps security events, and declares the gap in the chain', async () => {
    const logger = captureLogger();
    const w = writer(broken.db, {
      batchSize: 10,
      maxBuffered: 20,
      spillDir: dir(),
      spillMaxBytes: 20_000,
      retryBaseMs: 5,
      retryMaxMs: 10,
      logger,
    });
    let kept = 0;
    for (let i = 0; i < 600; i++) {
      if (w.appendAccess(access(i))) kept++;
      if (i % 50 === 0) w.append(securityInput(i));
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(w.health.full).toBe(true);
    expect(w.health.spilledBytes).toBeLessThanOrEqual(20_000);
    expect(w.health.dropped).toBe(600 - kept);
    expect(w.health.dropped).toBeGreaterThan(0);
    expect(logger.lines.some((l) => (l.obj as { code?: string }).code === 'HF_AUDIT_SPILL_FULL')).toBe(true);

    await migrate(broken.db, [auditMigrations]); // the database is back
    await flushUntilItHolds(w); // a write under way when the schema appeared may still fail
    await flushUntilItHolds(w); // the gap event, appended on the first successful write
    await w.close();
    const rows = await eventsPage(broken.db, null, 10_000);
    expect(rows.filter((e) => e.action === 'test.event')).toHaveLength(12); // every security event
    expect(rows.filter((e) => e.action === 'http.request')).toHaveLength(kept);
    const gaps = rows.filter((e) => e.action === 'audit.gap');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.details).toMatchObject({ count: 600 - kept });
    const result = await verifyChain({ db: broken.db, checkpointKeys: KEYS });
    expect(result.problems).toEqual([]);
    expect(result.gaps).toMatchObject([{ count: 600 - kept }]);
    expect(w.health).toMatchObject({ full: false, dropped: 0, spilledBytes: 0 });
  });

  it('fail-closed: requests are answered 503 HF_AUDIT_UNAVAILABLE while it is full; /health is not', async () => {
    const app = Fastify();
    await app.register(audit, {
      db: broken.db,
      checkpointKeys: [CHECKPOINT_KEY],
      spillDir: dir(),
      spillMaxBytes: 5_000,
      spillFull: 'fail-closed',
      batchSize: 10,
      maxBuffered: 10,
      retryBaseMs: 5,
      retryMaxMs: 10,
    });
    app.get('/x', async () => ({ ok: true }));
    app.get('/health', async () => ({ ok: true }));
    await app.ready();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 300 && !app.audit.health().full; i++) {
        statuses.push((await app.inject('/x')).statusCode);
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      expect(app.audit.health().full).toBe(true);
      const refused = await app.inject('/x');
      expect(refused.statusCode).toBe(503);
      expect(refused.json()).toMatchObject({ code: 'HF_AUDIT_UNAVAILABLE' });
      expect((await app.inject('/health')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
