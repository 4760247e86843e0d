export { createDatabase, isStreamSafe } from './connect.js';
export type { Database, DatabaseHandle, DatabaseOptions, Driver } from './connect.js';
export { POOLERS } from './pooler.js';
export type { Pooler } from './pooler.js';
export type { AvailabilityChange } from './availability.js';
export { checkConnection, describeDatabaseUrl } from './connection-check.js';
export type { ConnectionCheckOptions, DatabaseUrlParts } from './connection-check.js';
export { migrate } from './migrate.js';
export type { MigrationResult, MigrationSet } from './migrate.js';
export type { DbErrorCode } from './errors.js';
export { isConnectionLoss, isUniqueViolation, pgErrorCode } from './pg-errors.js';
export { resultRows } from './rows.js';
export { poolUse } from './pool-use.js';
export type { PoolUse } from './pool-use.js';
export { releaseLease, takeLease } from './lease.js';
export type { LeaseOptions, LeaseTable } from './lease.js';

// Moved to `@harakaflow/db/internals` (issue 35); kept here, deprecated, until the packages that
// still import them from the root (notify, the reference app) import them from there.
export {
  /** @deprecated import from `@harakaflow/db/internals` */
  claimDue,
  /** @deprecated import from `@harakaflow/db/internals` */
  retryDelay,
  /** @deprecated import from `@harakaflow/db/internals` */
  startDispatchLoop,
} from './internals.js';
/** @deprecated import from `@harakaflow/db/internals` */
export type { DispatchLoop } from './internals.js';
