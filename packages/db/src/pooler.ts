/** The `pooler` option: what sits between the app and Postgres, and what postgres.js must do about it. */
import { invalidOption } from './errors.js';

/**
 * A connection pooler between the app and Postgres:
 * - `none` (default) and `session` (PgBouncer `pool_mode = session`): a client's server connection
 *   is its own for the whole session, so nothing changes.
 * - `transaction` (PgBouncer `pool_mode = transaction`, Supavisor's transaction mode, RDS Proxy):
 *   consecutive transactions of one client may run on different server connections, so nothing may
 *   outlive a transaction. postgres.js names and caches a prepared statement per query on each
 *   connection (`prepare: true`), and the server a later query lands on may not have it: pipelined
 *   queries then fail (4.x) or hang (3.4), and in 3.4 a transaction's `commit`, itself a named
 *   statement, fails, is retried on the aborted transaction, is answered ROLLBACK and reported as
 *   committed (apps/api/test/pgbouncer.test.ts). `prepare: false` sends unnamed statements,
 *   parsed within the query's own transaction. Nothing else postgres.js
 *   does by itself needs a session (its startup parameters are PgBouncer's tracked ones); the kit's
 *   packages keep no session state either (no session SET, LISTEN, session advisory lock, temporary
 *   table or held cursor: see the README's limits).
 */
export type Pooler = 'none' | 'session' | 'transaction';

/** Every `pooler` value, for readers of a setting (DATABASE_POOLER). */
export const POOLERS: readonly Pooler[] = ['none', 'session', 'transaction'];

export function poolerOptions(pooler: Pooler = 'none'): { prepare?: false } {
  if (!POOLERS.includes(pooler))
    throw invalidOption('pooler', `must be ${POOLERS.join(', ')} (got ${JSON.stringify(pooler)})`);
  return pooler === 'transaction' ? { prepare: false } : {};
}
