import { prepareKeys } from '@harakaflow/core';
import type { Database, MigrationSet } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditWriter, type WriterLogger, type WriterOptions } from '../src/writer.js';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { createPublicKey } from 'node:crypto';
import { auditMigrations } from '../src/index.js';
import { AuditSigningKeys, generateAuditSigningKey, openCheckpoint } from '../src/note.js';
import { integrate, type HeadSigner } from '../src/tree.js';
import type { HeadOpener } from '../src/tree-verify.js';

export const CHECKPOINT_KEY = 'audit-checkpoint-key-0123456789abcdef0123';
export const KEYS = prepareKeys([CHECKPOINT_KEY]);

export interface Captured extends WriterLogger {
  lines: { level: 'warn' | 'error'; msg: string; obj: object }[];
}

export function captureLogger(): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
  };
}

/** A clock tests move by hand. */
export function clock(start: string) {
  let now = new Date(start).getTime();
  return {
    now: () => new Date(now),
    advance: (ms: number) => void (now += ms),
    set: (iso: string) => void (now = new Date(iso).getTime()),
  };
}

export function writer(db: Database, overrides: Partial<WriterOptions> = {}): AuditWriter {
  return new AuditWriter({
    db,
    writer: 'w1',
    checkpointKeys: KEYS,
    batchSize: 100,
    flushIntervalMs: 5,
    maxBuffered: 10_000,
    spillDir: null,
    retryBaseMs: 5,
    retryMaxMs: 20,
    writeTimeoutMs: 5000,
    staleAfterMs: 60_000,
    logger: captureLogger(),
    // The package's tests exercise the binary COPY path of format 3 (what 'auto' picks on Postgres without a transaction pooler).
    copy: true,
    ...overrides,
  });
}

export const securityInput = (i: number, subjectId: string | null = 'acct-1') => ({
  kind: 'security' as const,
  action: 'test.event',
  resource: `thing:${i}`,
  outcome: 'success',
  subjectId,
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 test',
  details: { i, nested: { b: 2, a: 1 } },
});

/**
 * Flushes until a flush holds: after an outage (or a schema that has just appeared) the first
 * attempts may still meet a write that was already under way and fails.
 */
export async function flushUntilItHolds(w: { flush(): Promise<void> }, attempts = 50, delayMs = 50): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await w.flush();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** The audit migrations before 0002 (the unpartitioned layout), as a migration set in a temporary folder. */
export function legacyMigrations(): MigrationSet & { remove(): void } {
  const folder = fileURLToPath(new URL('../drizzle', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'hf-audit-legacy-'));
  mkdirSync(join(dir, 'meta'));
  const journal = JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string; idx: number }[];
  };
  journal.entries = journal.entries.filter((e) => e.idx < 2);
  writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(folder, `${e.tag}.sql`), join(dir, `${e.tag}.sql`));
  return { name: 'audit', folder: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `@harakaflow/retention`'s migrations, from the repository (this package does not depend on it):
 * the audit log's retention functions read the legal holds from its `retention.holds`.
 */
export const retentionHoldsMigrations: MigrationSet = {
  name: 'retention',
  folder: fileURLToPath(new URL('../../retention/drizzle', import.meta.url)),
};

/** Places a legal hold as `@harakaflow/retention` stores it (on a subject, a class, or both); its id. */
export async function placeHold(
  db: Database,
  subjectId: string | null,
  o: { className?: string; until?: Date } = {},
): Promise<string> {
  const id = randomUUID();
  await db.execute(sql`insert into retention.holds (id, subject_id, class, reason, until, created_by, created_at)
    values (${id}::uuid, ${subjectId}, ${o.className ?? null}, 'test hold', ${o.until?.toISOString() ?? null}::timestamptz, 'test', now())`);
  return id;
}

/**
 * Releases a hold as `@harakaflow/retention` does through its API: the row, then the chained
 * `retention.hold.released` event (through `w`, committed). With `w` null, only the row changes
 * (as a role that can update the table but not sign the chain would release it).
 */
export async function releaseHold(
  db: Database,
  w: AuditWriter | null,
  id: string,
  subjectId: string | null,
): Promise<void> {
  // A release is set once (retention's migration 0001): a row already released by hand stays as it is.
  await db.execute(
    sql`update retention.holds set released_at = now(), released_by = 'test' where id = ${id}::uuid and released_at is null`,
  );
  if (w)
    await w.append(
      {
        kind: 'security',
        action: 'retention.hold.released',
        resource: `retention-hold:${id}`,
        subjectId,
        outcome: 'success',
        details: { class: null, by: 'test' },
      },
      true,
    ).committed;
}

/** A signer of tree heads with the package's keys (AUDIT_SIGNING_KEYS), its opener, and its public key as an outsider holds it (from the JWK alone). */
export function treeSigner(origin = 'audit.test.example/log') {
  const signer = new AuditSigningKeys(generateAuditSigningKey('t1'), origin);
  const open: HeadOpener = (note) => openCheckpoint(note, signer.verifiers());
  const jwk = signer.jwks().keys[0]!;
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  return { signer: signer as HeadSigner, open, publicKey };
}

/** The two drivers a database test runs on, and a new migrated database per call, closed after the file. */
export const DRIVERS = [
  ['PGlite', undefined],
  ['Postgres', postgresUrl],
] as const;
export function freshDatabases(
  server: string | undefined,
  afterAllHook: (fn: () => Promise<void>) => void,
): () => Promise<TestDatabase> {
  const open: TestDatabase[] = [];
  afterAllHook(async () => {
    for (const db of open) await db.close();
  });
  return async () => {
    const db = await testDatabase({ migrations: [auditMigrations, retentionHoldsMigrations], serverUrl: server });
    open.push(db);
    return db;
  };
}

/**
 * `days` consecutive UTC days from 100 days back, written by w1 and w2 (format 3) with `perDay`
 * events each a day (of `subjects`), integrated into the tree day by day (so 256-leaf blocks
 * straddle the days), the last writes in one more run. The days written.
 */
export async function integratedDays(
  db: Database,
  signer: HeadSigner,
  o: { days: number; perDay: [number, number]; subjects?: [string | null, string | null] },
): Promise<string[]> {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const c1 = clock(new Date(today - 100 * 86_400_000 + 3_600_000).toISOString());
  const c2 = clock(new Date(today - 100 * 86_400_000 + 3_700_000).toISOString());
  const w1 = writer(db, { writer: 'w1', chainVersion: 3, now: c1.now });
  const w2 = writer(db, { writer: 'w2', chainVersion: 3, now: c2.now });
  const days: string[] = [];
  for (let d = 0; d < o.days; d++) {
    days.push(c1.now().toISOString().slice(0, 10));
    for (let i = 0; i < o.perDay[0]; i++)
      w1.append(o.subjects ? securityInput(d * 1000 + i, o.subjects[0]) : securityInput(d * 1000 + i));
    for (let i = 0; i < o.perDay[1]; i++)
      w2.append(o.subjects ? securityInput(d * 1000 + i, o.subjects[1]) : securityInput(d * 1000 + i));
    await flushUntilItHolds(w1);
    await flushUntilItHolds(w2);
    await integrate({ db, checkpointKeys: KEYS, signer });
    c1.advance(86_400_000);
    c2.advance(86_400_000);
  }
  await w1.close();
  await w2.close();
  await integrate({ db, checkpointKeys: KEYS, signer });
  return days;
}
