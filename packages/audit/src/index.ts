import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import audit from './plugin.js';
import './fastify.js';

export { captureIp, cleanDetails, cleanText, deviceParser, MAX_USER_AGENT, parseDevice } from './capture.js';
export type { Device, IpMode } from './capture.js';
export { canonicalJson, CHAIN_VERSION, checkpointPayload, CURRENT_CHAIN_VERSION, erasableFields, eventHash, genesisHash, personalDigest, utcDay } from './event.js';
export type { AuditEvent, AuditEventInput, ChainVersion, DeviceType, PersonalFields } from './event.js';
export { AuditInvalidQuery, AuditUnavailable, SPILL_REJECTED, SpillDirectoryError } from './errors.js';
export { decodeSpill, encodeSpill, prepareSpillDirectory, spillSubdirectory } from './spill.js';
export type { ChainPosition, SpillFile } from './spill.js';
export type { AuditRecorder, RequestAuditRecorder } from './fastify.js';
export { checkpointKeyObjects } from './options.js';
export type { AuditOptions } from './options.js';
export { auditPersonalData, eraseSubject } from './plugin.js';
export { migratePartitions } from './migrate-partitions.js';
export type { MigratePartitionsOptions, MigratePartitionsResult } from './migrate-partitions.js';
export { dayPartitions, ensureDayPartitions, eventsLayout, horizonMac, oldestEvent, purgeServerLogs, purgeUserAgents, readHorizon } from './partitions.js';
export type { EventsLayout, ServerLogPurge } from './partitions.js';
export { checkpoints as auditCheckpoints, events as auditEvents, heldEvents as auditHeldEvents } from './schema.js';
export { ERASURE_ACTION, eraseEvents, idsDigest, pgArray, queryEvents, writeBatch } from './store.js';
export type { Checkpoint, EventQuery } from './store.js';
export { eventProblem, verifyChain } from './verify.js';
export type { ChainProblem, ProblemReason, VerifyOptions, VerifyResult } from './verify.js';
export { AuditWriter, checkpointMac, checkpointValid } from './writer.js';
export type { WriterOptions } from './writer.js';

/** The audit log's migrations (schema `audit`). */
export const auditMigrations: MigrationSet = { name: 'audit', folder: fileURLToPath(new URL('../drizzle', import.meta.url)) };

export const harakaflowAudit = fp(audit, { name: '@harakaflow/audit', fastify: '5.x' });
export default harakaflowAudit;
