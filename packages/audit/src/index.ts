import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import audit from './plugin.js';
import './fastify.js';

export { captureIp, cleanDetails, cleanText, deviceParser, MAX_USER_AGENT, parseDevice } from './capture.js';
export type { Device, IpMode } from './capture.js';
export {
  canonicalJson,
  CHAIN_VERSION,
  checkpointPayload,
  CURRENT_CHAIN_VERSION,
  erasableFields,
  eventHash,
  genesisHash,
  personalDigest,
  utcDay,
} from './event.js';
export type { AuditEvent, AuditEventInput, ChainVersion, DeviceType, PersonalFields } from './event.js';
export { AuditInvalidQuery, AuditUnavailable, SPILL_REJECTED, SpillDirectoryError } from './errors.js';
export { decodeSpill, encodeSpill, prepareSpillDirectory, spillSubdirectory } from './spill.js';
export type { ChainPosition, SpillFile } from './spill.js';
export type { AuditRecorder, RequestAuditRecorder } from './fastify.js';
export { checkpointKeyObjects } from './options.js';
export type { AuditOptions } from './options.js';
export type { CopyMode } from './writes.js';
export { auditPersonalData, chainedRecorder, eraseSubject } from './plugin.js';
export { migratePartitions } from './migrate-partitions.js';
export type { MigratePartitionsOptions, MigratePartitionsResult } from './migrate-partitions.js';
export {
  adoptHeldDays,
  dayPartitions,
  ensureDayPartitions,
  eventsLayout,
  HELD_ADOPT_ACTION,
  HELD_RELEASE_ACTION,
  heldDayMac,
  heldDays,
  heldDayValid,
  horizonMac,
  oldestEvent,
  purgeServerLogs,
  purgeUserAgents,
  readHorizon,
  releaseHeldCopies,
  serverLogsBeforeDay,
} from './partitions.js';
export type { ChainedRecorder, EventsLayout, HeldDay, ServerLogPurge } from './partitions.js';
export {
  checkpoints as auditCheckpoints,
  events as auditEvents,
  heldDays as auditHeldDays,
  heldEvents as auditHeldEvents,
  heldReleased as auditHeldReleased,
} from './schema.js';
export { ERASURE_ACTION, eraseEvents, idsDigest, pgArray, queryEvents, writeBatch } from './store.js';
export type { Checkpoint, EventQuery } from './store.js';
export { purgeTombstones } from './tombstones.js';
export { eventsAfter, uuidv7Floor, uuidv7Time } from './stream-read.js';
export type { EventsAfterQuery } from './stream-read.js';
export { eventProblem, verifyChain } from './verify.js';
export type { ChainProblem, ProblemReason, VerifyOptions, VerifyResult } from './verify.js';
// Issue 33: signed checkpoints (C2SP signed notes), their keys and the verifier key files.
export {
  AuditSigningKeys,
  checkpointBody,
  generateAuditSigningKey,
  isKeyName,
  MAX_NOTE_BYTES,
  MAX_SIGNATURES,
  noteKeyId,
  openCheckpoint,
  openNote,
  parseVerifierKey,
  parseVerifierKeys,
} from './note.js';
export type { AuditJwk, NoteVerifier, OpenedCheckpoint, OpenedNote } from './note.js';
export { loadVerifierKeys, MAX_KEY_FILE_BYTES } from './cli-keys.js';
export { AuditKeysError, AuditNoteError } from './errors.js';
export type { NoteProblem } from './errors.js';
export { AuditWriter, checkpointMac, checkpointValid } from './writer.js';
export type { WriterOptions } from './writer.js';

/** The audit log's migrations (schema `audit`). */
export const auditMigrations: MigrationSet = {
  name: 'audit',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowAudit = fp(audit, { name: '@harakaflow/audit', fastify: '5.x' });
export default harakaflowAudit;
