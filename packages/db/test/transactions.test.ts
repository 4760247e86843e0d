import { createDatabase, isConnectionLoss, type DatabaseHandle } from '@harakaflow/db';
import { postgresUrl } from '../../../tooling/testing/src/index.js';
import postgres from 'postgres';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A transaction whose connection is lost while its body still runs (a restart, a failover, a
 * terminated backend). postgres.js 3 answered the body's late outcome with a ROLLBACK or COMMIT
 * queued on the dropped socket, thrown from a setImmediate: the process died (vitest reports it as
 * an uncaught error, failing the run). The pool's own queries must keep working afterwards.
 */
describe.skipIf(!postgresUrl)('a transaction cut by a lost connection', () => {
  const name = `hf-tx-${randomUUID().slice(0, 8)}`;
  let handle: DatabaseHandle;
  let admin: postgres.Sql;
  type Client = {
    begin<T>(fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T>;
    unsafe(q: string): Promise<unknown[]>;
  };
  let client: Client;

  beforeAll(async () => {
    handle = await createDatabase({ url: postgresUrl, max: 2, applicationName: name });
    client = (handle.db as unknown as { $client: Client }).$client;
    await client.unsafe('select 1');
    admin = postgres(postgresUrl!, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await handle?.close();
    await admin?.end();
  });

  /** Runs `body` in a transaction whose backend is terminated while it sleeps; returns begin's error. */
  async function cut(after: (error: unknown) => Promise<unknown>): Promise<unknown> {
    let backend = 0;
    const sleeping = client.begin(async (tx) => {
      const [row] = await tx.unsafe('select pg_backend_pid() as pid');
      backend = (row as unknown as { pid: number }).pid;
      return tx.unsafe('select pg_sleep(30)').catch(after);
    });
    // Terminate once the sleep runs (polled, not timed).
    for (;;) {
      const [row] = backend
        ? await admin`select count(*)::int as n from pg_stat_activity where pid = ${backend} and query like 'select pg_sleep%'`
        : [{ n: 0 }];
      if (row!.n === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await admin`select pg_terminate_backend(${backend})`;
    return sleeping.then(
      () => 'committed',
      (error: unknown) => error,
    );
  }

  /**
   * The pool answers again. postgres.js 3 (without this package's doing) fails the first statement
   * sent on a connection reopened after its backend was terminated with that termination's 57P01;
   * a caller sees a connection loss (503) and the next statement goes through.
   */
  async function servesAgain(): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.unsafe('select 1 as one');
      } catch (error) {
        if (!isConnectionLoss(error) || attempt === 3) throw error;
      }
    }
  }

  // The body settles only after the close has been seen: an await between the failure and the throw.
  const afterTheClose = () => new Promise((r) => setTimeout(r, 100));

  it('fails the transaction with a connection-loss error when the body rethrows after the close', async () => {
    const error = await cut(async (e) => {
      await afterTheClose();
      throw e;
    });
    expect(isConnectionLoss(error)).toBe(true);
    expect(await servesAgain()).toEqual([{ one: 1 }]);
  });

  it('fails the transaction, not commits it, when the body swallows the error and returns after the close', async () => {
    const error = await cut(async () => {
      await afterTheClose();
      return 'swallowed';
    });
    expect(error).not.toBe('committed');
    expect(isConnectionLoss(error)).toBe(true);
    expect(await servesAgain()).toEqual([{ one: 1 }]);
  });

  it('fails at once when the body rethrows before the close, and other errors pass through unchanged', async () => {
    const error = await cut(async (e) => {
      throw e;
    });
    expect(isConnectionLoss(error)).toBe(true);
    await servesAgain();
    const plain = await client
      .begin(async (tx) => {
        await tx.unsafe('select 1');
        throw new Error('a plain failure');
      })
      .catch((e: unknown) => e);
    expect((plain as Error).message).toBe('a plain failure');
    expect(await servesAgain()).toEqual([{ one: 1 }]);
  });
});
