// How format-3 batches go on Postgres (issue 29 item 2): binary COPY by default, UNNEST on a pool
// made for a transaction pooler (its server connections are shared: a COPY batch holds one for
// five round trips), and never COPY on PGlite.
import { createDatabase, type Database } from '@harakaflow/db';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { postgresUrl, testDatabase } from '@harakaflow/testing';
import { describe, expect, it } from 'vitest';
import { usesCopy } from '../src/writes.js';

describe('copy mode', () => {
  it.runIf(postgresUrl)(
    "'auto': COPY on Postgres directly or through a session pooler, UNNEST through a transaction pooler; true and false force it",
    async () => {
      // postgres.js connects lazily: nothing here opens a connection.
      const [direct, session, transaction] = await Promise.all(
        (['none', 'session', 'transaction'] as const).map((pooler) =>
          createDatabase({ url: postgresUrl, max: 1, pooler }),
        ),
      );
      try {
        expect(usesCopy(direct!.db)).toBe(true);
        expect(usesCopy(direct!.db, 'auto')).toBe(true);
        expect(usesCopy(session!.db)).toBe(true);
        expect(usesCopy(transaction!.db)).toBe(false);
        expect(usesCopy(transaction!.db, 'auto')).toBe(false);
        expect(usesCopy(transaction!.db, true)).toBe(true);
        expect(usesCopy(direct!.db, false)).toBe(false);
      } finally {
        await Promise.all([direct, session, transaction].map((h) => h!.close()));
      }
    },
  );

  it.runIf(postgresUrl)(
    "'auto': UNNEST on a postgres.js pool made elsewhere (its sockets may wait for delayed ACKs); true still forces COPY",
    async () => {
      const client = postgres(postgresUrl!, { max: 1, onnotice: () => {} });
      try {
        const db = drizzle({ client }) as unknown as Database;
        expect(usesCopy(db)).toBe(false);
        expect(usesCopy(db, 'auto')).toBe(false);
        expect(usesCopy(db, true)).toBe(true);
      } finally {
        await client.end({ timeout: 5 });
      }
    },
  );

  it('PGlite: UNNEST whatever is asked (it has no COPY FROM STDIN)', async () => {
    const pglite = await testDatabase({ serverUrl: undefined });
    try {
      for (const mode of [undefined, 'auto', true, false] as const) expect(usesCopy(pglite.db, mode)).toBe(false);
    } finally {
      await pglite.close();
    }
  });
});
