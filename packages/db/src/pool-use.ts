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
 * On postgres.js the count is the availability gate's (availability.ts), which already watches
 * every statement and transaction: nothing more per query. On PGlite the client is wrapped once,
 * when this is first called for it (what was sent before is not counted): one promise reaction a query.
 */
import { IN_FLIGHT } from './availability.js';
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
  if (!client || (typeof client !== 'object' && typeof client !== 'function'))
    return () => ({ size: handle.driver === 'pglite' ? 1 : 0, inFlight: 0 });
  const known = trackers.get(client);
  if (known) return known;
  // postgres.js: the availability gate already watches every statement and transaction; it counts them.
  const counted = (client as Record<symbol, unknown>)[IN_FLIGHT];
  if (typeof counted === 'function') {
    const size = Number((client.options as { max?: unknown } | undefined)?.max ?? 0);
    const read = () => ({ size, inFlight: (counted as () => number)() });
    trackers.set(client, read);
    return read;
  }
  let inFlight = 0;
  const settle = () => {
    inFlight--;
  };
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
  // PGlite: one connection; its statements and transactions are counted here.
  for (const name of ['query', 'transaction']) wrap(name);
  const read = () => ({ size: 1, inFlight });
  trackers.set(client, read);
  return read;
}
