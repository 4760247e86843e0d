export { createDatabase } from './connect.js';
export type { Database, DatabaseHandle, DatabaseOptions, Driver } from './connect.js';
export { migrate } from './migrate.js';
export type { MigrationResult, MigrationSet } from './migrate.js';
export { DatabaseError } from './errors.js';
export { isConnectionLoss, isUniqueViolation, pgErrorCode } from './pg-errors.js';
export { resultRows } from './rows.js';
export { claimDue, retryDelay, startDispatchLoop } from './outbox.js';
export type { ClaimOptions, DispatchLoop, OutboxTable } from './outbox.js';
