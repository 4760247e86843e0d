// The binary COPY encoder against a real Postgres (every type it writes, read back by the server),
// in a transaction with other statements, its failures, and through PgBouncer in transaction
// mode. Runs twice: on the lockfile's postgres.js 3 and, as the project `audit (postgres 4)`, on 4.
import {
  pgbouncerAvailable,
  postgresUrl,
  testDatabase,
  testPgbouncer,
  type TestDatabase,
  type TestPgbouncer,
} from '@harakaflow/testing';
import { createDatabase, isConnectionLoss } from '@harakaflow/db';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyEncoder } from '../src/pgcopy.js';
import { CopyValueError, type CopyType } from '../src/pgcopy-values.js';
import { copyClient, copyInto } from '../src/pgcopy-stream.js';

const onPostgres = Boolean(postgresUrl);

const TYPES: CopyType[] = [
  'int2',
  'int4',
  'int8',
  'float8',
  'bool',
  'bytea',
  'text',
  'uuid',
  'date',
  'timestamptz',
  'jsonb',
];
const TABLE = `create table t (i2 int2, i4 int4, i8 int8, f8 float8, b bool, by bytea, tx text, u uuid, d date, ts timestamptz, j jsonb)`;
const COPY = 'copy t (i2, i4, i8, f8, b, by, tx, u, d, ts, j) from stdin (format binary)';
/** Each column as text the test can compare, from the server's own output functions. */
const READ = `select i2, i4, i8::text as i8, f8, b, encode(by, 'hex') as by, tx, u::text as u, d::text as d,
  to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as ts, j::text as j from t order by i4`;

describe('CopyEncoder, alone', () => {
  it('refuses values that do not fit their column, leaving no half-written row', () => {
    const enc = new CopyEncoder(['int4', 'text']);
    enc.row([1, 'a']);
    const before = enc.length;
    for (const bad of [
      [2 ** 31, 'x'],
      [1.5, 'x'],
      [1, 'a\0b'],
      [1, 7],
      ['1', 'x'],
    ]) {
      expect(() => enc.row(bad)).toThrow(CopyValueError);
      expect(enc.length).toBe(before);
      expect(enc.rows).toBe(1);
    }
    expect(() => enc.row([1])).toThrow(/needs 2 values/);
    expect(() => new CopyEncoder(['date']).row(['2026-02-30'])).toThrow(CopyValueError);
    expect(() => new CopyEncoder(['uuid']).row(['not-a-uuid'])).toThrow(CopyValueError);
    expect(() => new CopyEncoder(['uuid']).row([new Uint8Array(15)])).toThrow(CopyValueError);
    expect(() => new CopyEncoder(['timestamptz']).row([new Date(NaN)])).toThrow(CopyValueError);
    expect(() => new CopyEncoder(['int8']).row([2 ** 60])).toThrow(CopyValueError);
    expect(() => new CopyEncoder(['jsonb']).row(['"a\\u0000"'])).toThrow(CopyValueError);
  });

  it('writes the header, tuples and trailer of the binary format, and grows past its first buffer', () => {
    const enc = new CopyEncoder(['int2', 'text'], 64);
    enc.row([7, 'é'.repeat(100)]).row([null, null]);
    const out = enc.finish();
    expect(out.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(out.readInt32BE(11)).toBe(0);
    expect(out.readInt32BE(15)).toBe(0);
    expect(out.readInt16BE(19)).toBe(2); // first tuple: two fields
    expect(out.readInt32BE(21)).toBe(2);
    expect(out.readInt16BE(25)).toBe(7);
    expect(out.readInt32BE(27)).toBe(200); // 100 two-byte characters
    expect(out.readInt16BE(out.length - 2)).toBe(-1);
    expect(enc.reset().rows).toBe(0);
    expect(enc.finish().length).toBe(21);
  });
});

describe('copyInto, with a driver that fails the stream as it hands it over', () => {
  // Found under load on postgres.js 4: a backend terminated as the COPY began. The driver resolved
  // the query with its stream and failed that stream in the same turn; the stream's 'error' (a
  // process.nextTick) came before copyInto's await resumed to listen: an uncaught exception, the
  // process gone. Here the driver is a stand-in doing exactly that, so the order is certain.
  it('fails the copy with the stream error, and nothing is left unheard', async () => {
    const stream = new Writable({ write: (_chunk, _encoding, done) => done() });
    const query = {} as {
      resolve: (value: unknown) => void;
      reject: (error: unknown) => void;
      writable: () => Promise<Writable>;
    };
    const handed = new Promise<Writable>((resolve, reject) => Object.assign(query, { resolve, reject }));
    query.writable = () => handed;
    const uncaught: unknown[] = [];
    const hear = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', hear);
    try {
      const copying = copyInto({ unsafe: () => query }, 'copy t (i4) from stdin (format binary)', new Uint8Array(8));
      const cut = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      // As a socket's data callback does it: in one macrotask, after which Node runs the nextTick
      // queue (the stream's 'error') before the promise jobs (copyInto resuming).
      setImmediate(() => {
        query.resolve(stream);
        stream.destroy(cut);
      });
      await expect(copying).rejects.toBe(cut);
      await new Promise((r) => setImmediate(r));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', hear);
    }
  });
});

describe.skipIf(!onPostgres)('CopyEncoder and copyInto on Postgres', () => {
  let sql: postgres.Sql;
  let db: TestDatabase;
  let bouncer: TestPgbouncer | undefined;

  beforeAll(async () => {
    db = await testDatabase();
    sql = postgres(db.url!, { max: 2, onnotice: () => {} });
    await sql.unsafe(TABLE);
    if (pgbouncerAvailable) bouncer = await testPgbouncer({ serverUrl: db.url! });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await bouncer?.close();
    await db?.close();
  });

  it('every type reaches the server as the value it was', async () => {
    await sql`truncate t`;
    const enc = new CopyEncoder(TYPES);
    const uuid = '0190f3a4-1b2c-7d3e-8f40-123456789abc';
    enc.row([
      -32768,
      1,
      -(2 ** 53) + 1,
      0.1,
      true,
      Buffer.from([0, 255, 16]),
      'Nairobi ☕ 🇰🇪 "q" \\ \n',
      uuid,
      '1999-12-31',
      new Date('2026-03-29T01:30:00.123Z'),
      '{"a":[1,"x"]}',
    ]);
    enc.row([
      32767,
      2,
      2n ** 62n,
      -1e300,
      false,
      new Uint8Array(0),
      '',
      Buffer.from(uuid.replace(/-/g, ''), 'hex'),
      '2000-01-01',
      Date.UTC(1970, 0, 1),
      'null',
    ]);
    enc.row([null, 3, null, null, null, null, null, null, null, null, null]);
    await copyInto(sql, COPY, enc.finish());
    expect(await sql.unsafe(READ)).toEqual([
      {
        i2: -32768,
        i4: 1,
        i8: String(-(2 ** 53) + 1),
        f8: 0.1,
        b: true,
        by: '00ff10',
        tx: 'Nairobi ☕ 🇰🇪 "q" \\ \n',
        u: uuid,
        d: '1999-12-31',
        ts: '2026-03-29T01:30:00.123000',
        j: '{"a": [1, "x"]}',
      },
      {
        i2: 32767,
        i4: 2,
        i8: String(2n ** 62n),
        f8: -1e300,
        b: false,
        by: '',
        tx: '',
        u: uuid,
        d: '2000-01-01',
        ts: '1970-01-01T00:00:00.000000',
        j: 'null',
      },
      { i2: null, i4: 3, i8: null, f8: null, b: null, by: null, tx: null, u: null, d: null, ts: null, j: null },
    ]);
  });

  it('round-trips any text, integer and instant (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')),
            fc.integer(),
            fc.integer({ min: -(2 ** 40), max: 2 ** 43 }),
          ),
          { maxLength: 20 },
        ),
        async (rows) => {
          await sql`truncate t`;
          const enc = new CopyEncoder(['int4', 'text', 'int8', 'timestamptz']);
          rows.forEach(([text, n, ms], i) => enc.row([i, text, n, ms]));
          await copyInto(sql, 'copy t (i4, tx, i8, ts) from stdin (format binary)', enc.finish());
          const back = await sql.unsafe(
            `select tx, i8::text as i8, (extract(epoch from ts) * 1000)::int8::text as ms from t order by i4`,
          );
          expect(back.map((r) => [r.tx, Number(r.i8), Number(r.ms)])).toEqual(rows.map(([t, n, ms]) => [t, n, ms]));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('commits with the other statements of its transaction, or not at all', async () => {
    await sql`truncate t`;
    const enc = new CopyEncoder(['int4', 'text']);
    enc.row([10, 'kept']);
    await sql.begin(async (tx) => {
      await copyInto(tx, 'copy t (i4, tx) from stdin (format binary)', enc.finish());
      await tx`insert into t (i4, tx) values (11, 'beside')`;
    });
    enc.reset().row([12, 'rolled back']);
    await expect(
      sql.begin(async (tx) => {
        await copyInto(tx, 'copy t (i4, tx) from stdin (format binary)', enc.finish());
        await tx`select 1/0`;
      }),
    ).rejects.toThrow(/division by zero/);
    expect((await sql`select i4 from t order by i4`).map((r) => r.i4)).toEqual([10, 11]);
  });

  it('rejects with the server error when a row breaks a constraint, keeps no row, and the connection stays usable', async () => {
    await sql.unsafe('create table if not exists u (id int4 primary key)');
    await sql`truncate u`;
    const enc = new CopyEncoder(['int4']);
    enc.row([1]).row([2]).row([1]);
    await expect(copyInto(sql, 'copy u (id) from stdin (format binary)', enc.finish())).rejects.toMatchObject({
      code: '23505',
    });
    expect(await sql`select count(*)::int as n from u`).toEqual([{ n: 0 }]);
    // A buffer that is not the binary format at all.
    await expect(copyInto(sql, 'copy u (id) from stdin (format binary)', Buffer.from('garbage'))).rejects.toMatchObject(
      { code: '22P04' },
    );
    expect(await sql`select 1 as ok`).toEqual([{ ok: 1 }]);
  });

  it('a database made by @harakaflow/db lends its client for COPY; PGlite has none', async () => {
    const handle = await createDatabase({ url: db.url, max: 1 });
    try {
      const client = copyClient(handle.db);
      expect(client).not.toBeNull();
      await sql`truncate t`;
      const enc = new CopyEncoder(['int4']);
      enc.row([42]);
      await client!.begin((tx) => copyInto(tx, 'copy t (i4) from stdin (format binary)', enc.finish()));
      expect(await sql`select i4 from t`).toEqual([{ i4: 42 }]);
    } finally {
      await handle.close();
    }
    const lite = await createDatabase();
    try {
      expect(copyClient(lite.db)).toBeNull();
    } finally {
      await lite.close();
    }
  });

  it('a COPY cut by a lost connection fails its transaction, keeps no row, and the process lives on', async () => {
    // postgres.js 3 answered the failed body with a ROLLBACK on the dropped socket, thrown from a
    // setImmediate (the soak's crash); @harakaflow/db's client holds such a body (db's transactions.ts).
    const name = `hf-copy-cut-${process.pid}`;
    const handle = await createDatabase({ url: db.url, max: 1, applicationName: name });
    try {
      const client = copyClient(handle.db)!;
      const query = (text: string) => client.unsafe(text) as unknown as Promise<unknown[]>;
      await query('select 1');
      await sql`truncate t`;
      const enc = new CopyEncoder(['int4', 'text']);
      for (let i = 0; i < 200_000; i++) enc.row([i, 'x'.repeat(100)]); // about 22 MB: still streaming when cut
      const copying = client
        .begin((tx) => copyInto(tx, 'copy t (i4, tx) from stdin (format binary)', enc.finish()))
        .then(
          () => 'committed',
          (error: unknown) => error,
        );
      for (;;) {
        const [row] =
          await sql`select pg_terminate_backend(pid) as cut from pg_stat_activity where application_name = ${name} and query like 'copy t%'`;
        if (row?.cut) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      const outcome = await copying;
      expect(outcome).not.toBe('committed');
      expect(isConnectionLoss(outcome)).toBe(true);
      expect(await sql`select count(*)::int as n from t`).toEqual([{ n: 0 }]);
      // The pool answers again (postgres.js 3 may fail the first statement after a termination).
      let again: unknown;
      for (let attempt = 0; attempt < 3 && again === undefined; attempt++)
        again = await query('select 1 as one').catch(() => undefined);
      expect(again).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
    }
  });

  it.skipIf(!pgbouncerAvailable)(
    'works through PgBouncer in transaction mode, inside a transaction with a temp table dropped on commit',
    async () => {
      const through = postgres(bouncer!.through(db.url!), { max: 2, prepare: false, onnotice: () => {} });
      try {
        await sql`truncate t`;
        const enc = new CopyEncoder(['int4', 'text']);
        for (let i = 0; i < 3; i++) {
          enc
            .reset()
            .row([i, `batch ${i}`])
            .row([100 + i, 'again']);
          await through.begin(async (tx) => {
            await tx.unsafe('create temp table staging (like t) on commit drop');
            await copyInto(tx, 'copy staging (i4, tx) from stdin (format binary)', enc.finish());
            await tx.unsafe('insert into t select * from staging');
          });
        }
        expect((await sql`select i4 from t order by i4`).map((r) => r.i4)).toEqual([0, 1, 2, 100, 101, 102]);
      } finally {
        await through.end({ timeout: 5 });
      }
    },
  );
});
