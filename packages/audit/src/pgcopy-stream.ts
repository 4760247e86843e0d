/**
 * Streaming one binary COPY buffer (pgcopy.ts encodes it) through postgres.js: `copyInto`, and
 * `copyClient`, the postgres.js client of a Database made by `@harakaflow/db` (PGlite has none).
 */
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/** What copyInto needs of a postgres.js `sql` (the pool or a transaction's `sql`). */
export interface CopyClient {
  unsafe(statement: string): { writable(): Promise<Writable> };
}

/**
 * Streams `data` (a whole binary COPY) through `statement` (`copy <table> (<columns>) from stdin
 * (format binary)`) and resolves once the server has taken every row; rejects with the server's
 * error otherwise (no row is kept: COPY is all or nothing). Give it a transaction's `sql` to commit
 * the rows with other statements.
 *
 * postgres.js 3 never ends the stream of a COPY the server refused after the last chunk (its
 * `final` callback waits for a CommandComplete that never comes) and hands the error to the query's
 * own reject, which has already resolved with the stream: without the hook below, a constraint
 * violation would hang the caller. postgres.js 4 fails the stream itself; whichever comes first wins.
 */
export async function copyInto(client: CopyClient, statement: string, data: Uint8Array): Promise<void> {
  const query = client.unsafe(statement) as ReturnType<CopyClient['unsafe']> & {
    reject?: (error: unknown) => unknown;
    resolve?: (value: unknown) => unknown;
  };
  let refuse: (error: unknown) => void = () => {};
  const refused = new Promise<never>((_, reject) => {
    refuse = reject;
  });
  refused.catch(() => {}); // read by the race below, or not at all when the copy succeeds
  const reject = query.reject;
  if (typeof reject === 'function') {
    query.reject = (error: unknown) => {
      refuse(error);
      return reject.call(query, error);
    };
  }
  // The stream's errors are heard from the moment the driver makes it: a connection cut as the COPY
  // starts fails the stream (a process.nextTick 'error') before this function's await has resumed to
  // listen, which with no listener is an uncaught exception that ends the process (seen on
  // postgres.js 4 under load). Heard here, it fails the copy like any refusal.
  const resolve = query.resolve;
  if (typeof resolve === 'function') {
    query.resolve = (value: unknown) => {
      if (value && typeof (value as Writable).on === 'function') (value as Writable).on('error', refuse);
      return resolve.call(query, value);
    };
  }
  const stream = await Promise.race([query.writable(), refused]);
  stream.end(data);
  await Promise.race([finished(stream), refused]);
}

/** A postgres.js client able to COPY, from a Database made by `@harakaflow/db`, or null (PGlite). */
export function copyClient(db: unknown):
  | (CopyClient & {
      begin<T>(
        fn: (sql: CopyClient & { unsafe(statement: string, parameters?: unknown[]): Promise<unknown> }) => Promise<T>,
      ): Promise<T>;
    })
  | null {
  const client = (db as { $client?: unknown } | null)?.$client as Record<string, unknown> | undefined;
  if (!client || typeof client.begin !== 'function' || typeof client.unsafe !== 'function') return null;
  // PGlite's client has neither begin nor unsafe (it has query and transaction).
  return client as never;
}
