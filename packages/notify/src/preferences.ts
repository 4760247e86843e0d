/** The account's choice of optional kinds (security and legal kinds cannot be turned off). */
import type { Database } from '@harakaflow/db';
import { and, eq } from 'drizzle-orm';
import { NotOptional, UnknownKind } from './errors.js';
import { KINDS } from './kinds.js';
import { preferences } from './schema.js';

/** Is the optional kind on for the account (on unless turned off)? */
export async function isEnabled(db: Database, accountId: string, kind: string): Promise<boolean> {
  const [row] = await db
    .select({ enabled: preferences.enabled })
    .from(preferences)
    .where(and(eq(preferences.accountId, accountId), eq(preferences.kind, kind)));
  return row?.enabled ?? true;
}

/** The optional kinds and whether each is on for the account. */
export async function preferencesOf(db: Database, accountId: string): Promise<Record<string, boolean>> {
  const rows = await db.select().from(preferences).where(eq(preferences.accountId, accountId));
  const set = new Map(rows.map((r) => [r.kind, r.enabled]));
  return Object.fromEntries(
    Object.entries(KINDS)
      .filter(([, spec]) => spec.category === 'optional')
      .map(([kind]) => [kind, set.get(kind) ?? true]),
  );
}

/** Turns an optional kind on or off for the account (a security or legal kind cannot be). */
export async function setPreference(
  db: Database,
  at: Date,
  accountId: string,
  kind: string,
  enabled: boolean,
): Promise<void> {
  const spec = KINDS[kind];
  if (!spec) throw new UnknownKind(JSON.stringify(kind));
  if (spec.category !== 'optional') throw new NotOptional(kind);
  await db
    .insert(preferences)
    .values({ accountId, kind, enabled, updatedAt: at })
    .onConflictDoUpdate({ target: [preferences.accountId, preferences.kind], set: { enabled, updatedAt: at } });
}
