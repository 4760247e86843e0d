// Issue 12 item 6: the ledger's append-only guard was a suggestion: any session could set the
// consent.allow_erase GUC and delete rows, and TRUNCATE emptied the table. Erasure now goes only
// through consent.erase_subject, and TRUNCATE is refused.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { records as consentRecords } from '../../src/schema.js';
import { consentMigrations } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [consentMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('consent'));

const count = async () => (await database.db.select().from(consentRecords)).length;
async function seed() {
  const row = (subjectId: string) => ({
    id: randomUUID(),
    consentId: 'c'.repeat(22),
    subjectId,
    action: 'grant',
    source: 'user',
    policyVersion: 'v1',
    categories: ['analytics'],
    ip: null,
    userAgent: null,
  });
  await database.db.insert(consentRecords).values([row('acct-1'), row('acct-1'), row('acct-2')]);
}

describe('the consent ledger guards itself in the database', () => {
  it('refuses a DELETE after setting the old GUC, in a transaction or a DO block', async () => {
    await seed();
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('consent.allow_erase', 'on', true)`);
        await tx.delete(consentRecords);
      }),
    ).rejects.toThrow();
    // A DO block whose statement quotes the erase function's frame is not that function.
    await expect(
      database.db.execute(
        sql.raw(
          `do $$ begin delete from consent.records /*\nPL/pgSQL function consent.erase_subject(text) line 4 at SQL statement */; end $$`,
        ),
      ),
    ).rejects.toThrow();
    expect(await count()).toBe(3);
  });

  it('refuses TRUNCATE', async () => {
    await seed();
    await expect(database.db.execute(sql`truncate consent.records`)).rejects.toThrow();
    expect(await count()).toBe(3);
  });

  it('erases one subject through consent.erase_subject, and only theirs', async () => {
    await seed();
    const result = (await database.db.execute(sql`select consent.erase_subject('acct-1') as erased`)) as unknown as
      { erased: number }[] | { rows: { erased: number }[] };
    expect(Number((Array.isArray(result) ? result : result.rows)[0]!.erased)).toBe(2);
    expect((await database.db.select().from(consentRecords)).map((r) => r.subjectId)).toEqual(['acct-2']);
  });
});
