/**
 * How much of the connection pool is in use, for the metrics (issue 28 item 5). postgres.js 3 has
 * no public pool statistics, so this counts what the app sends through the handle's client:
 * statements outside a transaction (`unsafe`, which drizzle sends every query through) and
 * transactions (`begin`: one connection each, for its whole length), from when they are made until
 * they settle; on PGlite, `query` and `transaction` (one connection: the rest wait). More in
 * flight than the pool's size means work waits for a connection (or, on postgres.js, is pipelined
 * behind another query on a busy one). Queries inside a transaction are not counted again: they
 * run on its connection.
 *
 * The client is wrapped once, when this is first called for it: what was sent before is not
 * counted. Cost: one promise reaction a query.
 */
import type { DatabaseHandle } from './connect.js';

export interface PoolUse {
  /** Connections the pool may open (`max`; PGlite: 1). */
  size: number;
  /** Statements and transactions made and not yet settled. */
  inFlight: number;
}

type Fn = (...args: unknown[]) => unknown;
const trackers = new WeakMap<object, () => PoolUse>();

/** A reader of the pool's use; wraps the handle's client on the first call for it. */
export function poolUse(handle: DatabaseHandle): () => PoolUse {
  const client = (handle.db as unknown as { $client?: Record<string, unknown> }).$client;
  if (!client || (typeof client !== 'object' && typeof client !== 'function')) return () => ({ size: handle.driver === 'pglite' ? 1 : 0, inFlight: 0 });
  const known = trackers.get(client);
  if (known) return known;
  let inFlight = 0;
  const settle = () => {
    inFlight--;
  };
  // A postgres.js query is a lazy promise (it runs when awaited): Promise.prototype.then is called
  // directly, which watches it settle without starting it. A transaction's promise is a plain one.
  const wrap = (name: string) => {
    const original = client[name];
    if (typeof original !== 'function') return;
    client[name] = function (this: unknown, ...args: unknown[]) {
      const result = (original as Fn).apply(this, args);
      if (result instanceof Promise) {
        inFlight++;
        void Promise.prototype.then.call(result, settle, settle);
      }
      return result;
    };
  };
  const size = handle.driver === 'pglite' ? 1 : Number((client.options as { max?: unknown } | undefined)?.max ?? 0);
  for (const name of handle.driver === 'pglite' ? ['query', 'transaction'] : ['unsafe', 'begin']) wrap(name);
  const read = () => ({ size, inFlight });
  trackers.set(client, read);
  return read;
}
