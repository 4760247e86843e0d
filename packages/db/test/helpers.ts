import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a drizzle-kit shaped migrations folder: meta/_journal.json plus one SQL file per entry. */
export function migrationsFolder(entries: { when: number; tag: string; sql: string }[]): string {
  const folder = mkdtempSync(join(tmpdir(), 'hf-migrations-'));
  mkdirSync(join(folder, 'meta'));
  writeFileSync(
    join(folder, 'meta', '_journal.json'),
    JSON.stringify({
      version: '7',
      dialect: 'postgresql',
      entries: entries.map((e, idx) => ({ idx, version: '7', when: e.when, tag: e.tag, breakpoints: true })),
    }),
  );
  for (const e of entries) writeFileSync(join(folder, `${e.tag}.sql`), e.sql);
  return folder;
}
