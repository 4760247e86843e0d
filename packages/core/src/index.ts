/**
 * The contract every HarakaFlow package shares (ARCHITECTURE.md, "The package contract"), in one
 * place so that no package copies it: the personal-data handler (item 5), who the subject is
 * (item 8) and where security events go (item 6).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

export {
  accountSubject,
  collectExport,
  E164_PATTERN,
  isE164,
  isRecordStream,
  isRestricted,
  personalDataHandlers,
  registerPersonalDataHandler,
  RESERVED_HANDLER_NAMES,
  registerRestrictionSource,
  SUBJECT_KINDS,
  subjectAccountId,
} from './personal-data.js';
export type {
  AccountPersonalDataHandler,
  ErasureResult,
  PersonalDataHandler,
  RestrictionSource,
  SubjectKind,
  SubjectRef,
} from './personal-data.js';

export { defaultSubject } from './subject.js';
export type { Principal, SubjectResolver } from './subject.js';

/** A security-relevant event (consent changed, ban applied, credential read...). */
export interface SecurityEvent {
  /** Dotted name: `consent.granted`, `vault.secret.read`, `quota.ban.applied`. */
  action: string;
  resource?: string | undefined;
  outcome?: 'success' | 'failure' | 'denied' | undefined;
  /** JSON details. Never secrets or raw personal data beyond what the audit log is for. */
  details?: Record<string, unknown> | undefined;
  subjectId?: string | undefined;
  /** Wait for the commit (credential reads, exports, erasures, bans). */
  durability?: 'sync' | 'async' | undefined;
}

interface AuditRecorder {
  record(event: SecurityEvent): Promise<void> | void;
}

/**
 * Sends a security event to the audit plugin when it is registered, else to the logger (contract
 * item 6): a package never requires audit to work. With `durability: 'sync'` the returned promise
 * settles when the event is committed, and rejects if it cannot be (fail closed).
 */
export async function securityEvent(
  fastify: FastifyInstance,
  request: FastifyRequest | undefined,
  event: SecurityEvent,
): Promise<void> {
  const scoped = request as (FastifyRequest & { audit?: AuditRecorder | null }) | undefined;
  if (scoped?.audit) return scoped.audit.record(event);
  const global = fastify as FastifyInstance & { audit?: AuditRecorder };
  if (fastify.hasDecorator('audit') && global.audit) return global.audit.record(event);
  (request?.log ?? fastify.log).info({ securityEvent: { ...event, details: event.details } }, event.action);
}

export { canonicalJson } from './canonical.js';
export { openValue, prepareKeys, sealValue } from './signed.js';
export type { SigningKey } from './signed.js';

export { checkDatabaseOption, checkSubjectOption, integerOption, optionErrors } from './options.js';
export type { OptionError } from './options.js';
export { cookieValues } from './cookies.js';
export { ipNetwork, normalizeIp } from './ip.js';
export { errorCodes, serializeError } from './errors.js';
export type { CoreErrorCode, LoggedError } from './errors.js';
export {
  ED25519_KEY_ID,
  ed25519PublicBytes,
  ed25519PublicKey,
  generateEd25519Key,
  parseEd25519Keys,
} from './ed25519.js';
export type { Ed25519Key } from './ed25519.js';
export { uuidv7 } from './ids.js';
export { withTimeout } from './timeout.js';
export {
  heldSubjects,
  purgeByCount,
  registerHoldSource,
  registerRetentionClass,
  registerSubjectHoldSource,
  retentionClasses,
  retentionCutoff,
  subjectHolds,
} from './retention.js';
export type {
  HoldSource,
  RetentionBatch,
  RetentionClass,
  RetentionStep,
  SubjectHold,
  SubjectHoldSource,
} from './retention.js';
export { bindMetrics, cachedFor, gaugesFrom, metrics, metricsBound, SCRAPE_CACHE_MS } from './metrics.js';
export type {
  Counter,
  CounterSpec,
  Gauge,
  GaugeSpec,
  Histogram,
  HistogramSpec,
  Labels,
  MetricSpec,
  MetricsSink,
} from './metrics.js';
export { memoryMetrics } from './metrics-memory.js';
export type { MemoryMetrics } from './metrics-memory.js';
