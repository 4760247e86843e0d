// Issue 14 item 4: a replica killed between two handlers of a purge. Another replica takes the job
// over once its lease runs out, skips the handler already done, and ends with one receipt. Real
// Postgres: two processes share the database.
import { registerPersonalDataHandler } from '@harakaflow/core';
import dataRights, { dataRightsMigrations } from '@harakaflow/data-rights';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.skipIf(!postgresUrl)('a purge whose replica is killed', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase({ migrations: [dataRightsMigrations] });
  });
  afterAll(() => database.close());

  it('is finished by another replica, each handler run once to its end, with one receipt', async () => {
    const accountId = randomUUID();
    const child = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      const proc = execFile(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url)),
          database.url!,
          accountId,
        ],
        {
          cwd: fileURLToPath(new URL('..', import.meta.url)),
          timeout: 60_000,
        },
      );
      proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    expect(child.signal).toBe('SIGKILL');
    const rows = async (q: ReturnType<typeof sql>) => resultRows(await database.db.execute(q));
    const [job] = await rows(sql`select status, progress from data_rights.erasure_jobs`);
    expect(job).toMatchObject({ status: 'running', progress: { first: { erased: 4, kept: [] } } });

    const calls: string[] = [];
    const events: string[] = [];
    const app = Fastify();
    app.decorate('audit', { record: async (e: { action: string }) => void events.push(e.action) });
    for (const name of ['first', 'second']) {
      registerPersonalDataHandler(app, {
        name,
        identifiers: ['account'],
        exportSubject: async () => ({}),
        eraseSubject: async () => (calls.push(name), { erased: 2 }),
      });
    }
    await app.register(dataRights, {
      db: database.db,
      signingKeys: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
      subjectKey: 'subject-key-0123456789abcdef0123456789',
      keyStore: { put: async () => undefined, get: async () => null, delete: async () => undefined },
      accountExists: async () => true,
      sweepIntervalMs: 0,
      leaseMs: 1000,
    });
    await app.ready();
    await new Promise((r) => setTimeout(r, 1100)); // the dead replica's lease runs out
    expect(await app.dataRights.runDueErasures()).toBe(1);
    expect(calls).toEqual(['second']);
    const [request] = await rows(sql`select status, receipt from data_rights.requests`);
    expect(request).toMatchObject({ status: 'fulfilled' });
    expect(
      (request!.receipt as { handlers: { name: string; erased: number }[] }).handlers.map((h) => [h.name, h.erased]),
    ).toEqual([
      ['first', 4],
      ['second', 2],
      ['data_rights', 0],
    ]);
    expect(events.filter((e) => e === 'data_rights.erasure.completed')).toHaveLength(1);
    expect(await app.dataRights.runDueErasures()).toBe(0);
    await app.close();
  }, 600_000); // a hang guard, not a measurement
});
