import { prepareKeys } from '@harakaflow/core';
import type { Database, MigrationSet } from '@harakaflow/db';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditWriter, type WriterLogger, type WriterOptions } from '../src/writer.js';

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
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms), set: (iso: string) => void (now = new Date(iso).getTime()) };
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
    // The package's tests exercise the binary COPY path of format 3 (off by default in the app).
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
  const journal = JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string; idx: number }[] };
  journal.entries = journal.entries.filter((e) => e.idx < 2);
  writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(folder, `${e.tag}.sql`), join(dir, `${e.tag}.sql`));
  return { name: 'audit', folder: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
