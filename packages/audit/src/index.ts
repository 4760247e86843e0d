import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import audit from './plugin.js';
import './fastify.js';

// The public API: what a user registers, configures or calls (README). Other workspace code
// reaches the rest through `@harakaflow/audit/internals` (src/internals.ts), not a stable API.
export type { AuditOptions } from './options.js';
export type { CopyMode } from './writes.js';
export type { Device, IpMode } from './capture.js';
export type { AuditRecorder, RequestAuditRecorder } from './fastify.js';
export type { HeadSigner, IntegrateResult, ProofResult, TreeHead } from './tree.js';
export type { AuditEvent, AuditEventInput, ChainVersion, DeviceType } from './event.js';
export type { Checkpoint, EventQuery } from './store.js';
export { AuditWriter } from './writer.js';
export {
  AuditInvalidQuery,
  AuditKeysError,
  AuditNoteError,
  AuditPurgeTooRecent,
  AuditUnavailable,
  invalidOption,
  SPILL_REJECTED,
  SpillDirectoryError,
} from './errors.js';
export type { AuditErrorCode, NoteProblem } from './errors.js';
export { verifyChain } from './verify.js';
export type { ChainProblem, ProblemReason, VerifyOptions, VerifyResult } from './verify.js';
export { auditPersonalData, eraseSubject } from './plugin-personal-data.js';
export { purgeServerLogs } from './partitions.js';
export type { ServerLogPurge } from './partitions.js';
export { writeBatch } from './store.js';
export { eventsAfter, uuidv7Floor } from './stream-read.js';
export type { EventsAfterQuery } from './stream-read.js';
// Issue 33: signed checkpoints (C2SP signed notes), their keys and the verifier key files.
export {
  AuditSigningKeys,
  checkpointBody,
  generateAuditSigningKey,
  openCheckpoint,
  openNote,
  parseVerifierKeys,
} from './note.js';
export type { NoteVerifier, OpenedCheckpoint, OpenedNote } from './note.js';
export { loadVerifierKeys } from './cli-keys.js';

/** The audit log's migrations (schema `audit`). */
export const auditMigrations: MigrationSet = {
  name: 'audit',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowAudit = fp(audit, { name: '@harakaflow/audit', fastify: '5.x' });
export default harakaflowAudit;
