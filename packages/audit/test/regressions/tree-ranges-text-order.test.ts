// Found reviewing issue 33 (two integrators on two connections while writers wrote): public-key
// verify reported an intact log as "leaves from 21 to 1019 belong to no range". checkTree reads
// the ranges with `select start::text as start ... order by start`: ORDER BY takes the output
// column, the text, so '1019' sorts before '21'. The suite's trees had a handful of ranges whose
// starts happened to sort alike; a live log has a range per segment per run (every 10 s).
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { auditMigrations } from '../../src/index.js';
import { AuditSigningKeys, generateAuditSigningKey, openCheckpoint } from '../../src/note.js';
import { integrate } from '../../src/tree.js';
import { verifyChain } from '../../src/verify.js';
import { KEYS, securityInput, writer } from '../helpers.js';

const drivers = [
  ['PGlite', undefined],
  ['Postgres', postgresUrl],
] as const;

describe.each(drivers)('public-key verify of a tree of many ranges on %s', (name, server) => {
  const skip = name === 'Postgres' && !server;
  const open: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of open) await db.close();
  });

  it.skipIf(skip)(
    'reads the ranges in tree order (starts 7, 14, ..., 1001, ...), not in the order of their text',
    async () => {
      const db = await testDatabase({ migrations: [auditMigrations], serverUrl: server });
      open.push(db);
      const signer = new AuditSigningKeys(generateAuditSigningKey('t1'), 'audit.test.example/log');
      const w = writer(db.db, { writer: 'w1', chainVersion: 3 });
      // One range per run, as a live log has (a run every treeIntervalMs).
      for (let run = 0; run < 160; run++) {
        for (let i = 0; i < 7; i++) w.append(securityInput(run * 7 + i));
        await w.flush();
        await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      }
      await w.close();
      await integrate({ db: db.db, checkpointKeys: KEYS, signer });
      const result = await verifyChain({
        db: db.db,
        checkpointKeys: [],
        openHead: (note) => openCheckpoint(note, signer.verifiers()),
      });
      expect(result.problems).toEqual([]);
      expect(result.tree).toMatchObject({ size: 1120, leaves: 1120 });
    },
  );
});
