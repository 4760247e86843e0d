import { isConnectionLoss } from './pg-errors.js';

/** How long a transaction body that failed on a lost connection waits for postgres.js to see the close. */
const LOST_GRACE_MS = 10_000;

/** A body that is never answered with COMMIT or ROLLBACK: nothing references it once its transaction is over. */
const NEVER = new Promise<never>(() => {});

type Begin = (...args: unknown[]) => Promise<unknown>;

/**
 * postgres.js 3 answers a transaction body's rejection with a ROLLBACK on the body's connection. When
 * the body failed because that connection was lost (a restart, a terminated backend) and the close
 * was seen first, the ROLLBACK is queued on a connection whose socket is gone, and the driver throws
 * from a `setImmediate` where nothing can catch it: the process dies (reproduced by COPYs and
 * transactions cut by `pg_terminate_backend`; test/transactions.test.ts).
 *
 * This client's `begin` keeps such a body pending instead (and any body that settles after its
 * transaction already ended, which only a close does, since a COMMIT would fail the same way): postgres.js 3 rejects
 * the transaction
 * itself when its connection closes (it races the body against the close), and a ROLLBACK is
 * pointless on a lost session. If the connection is still open `LOST_GRACE_MS` later (a
 * connection-loss error that did not close it), the body rejects then, while the socket is alive.
 * Only for postgres.js 3; other errors pass through unchanged.
 */
export function lostTransactionGuard<T extends object>(client: T): T {
  const begin = (client as { begin?: Begin }).begin;
  if (typeof begin !== 'function') return client;
  const guarded = Object.create(client) as Record<string, unknown>;
  guarded.begin = (...args: unknown[]) => {
    const at = args.findIndex((a) => typeof a === 'function');
    if (at < 0) return begin.apply(client, args);
    const body = args[at] as (tx: unknown) => unknown;
    let settled = false;
    const timers = new Set<NodeJS.Timeout>();
    args[at] = (tx: unknown) => {
      const x = body(tx);
      return (Array.isArray(x) ? Promise.all(x) : Promise.resolve(x)).then(
        // begin already rejected: only a close ends it before its body. A COMMIT would meet the same fate.
        (value) => (settled ? NEVER : value),
        (error: unknown) => {
          if (settled) return NEVER;
          if (!isConnectionLoss(error)) throw error;
          return new Promise((_, reject) => {
            const timer = setTimeout(() => {
              timers.delete(timer);
              reject(error);
            }, LOST_GRACE_MS);
            timer.unref();
            timers.add(timer);
          });
        },
      );
    };
    const result = begin.apply(client, args);
    const done = () => {
      settled = true;
      // The transaction is over (postgres.js saw the close): a pending body stays pending, unreferenced.
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    };
    void Promise.prototype.then.call(result, done, done);
    return result;
  };
  return guarded as T;
}

/**
 * postgres.js 3 asks for the database's array types on every connection it opens, in a promise it
 * never catches: a connection lost during that query (a restart, a terminated backend) is an
 * unhandled rejection, which ends a Node process. The answer lands in the pool's shared parsers and
 * serializers, so once one statement has succeeded (the types came with its connection), later
 * connections need not ask again. Called once, after the pool's first successful statement.
 */
export function fetchTypesOnce(client: object): void {
  const options = (client as { options?: { fetch_types?: boolean } }).options;
  if (options && typeof options === 'object') options.fetch_types = false;
}
