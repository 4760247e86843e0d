/**
 * The contract every HarakaFlow package shares (ARCHITECTURE.md, "The package contract"), in one
 * place so that no package copies it: the personal-data handler (item 5), who the subject is
 * (item 8) and where security events go (item 6).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What a package that keeps personal data gives data-rights and retention (contract item 5). */
export interface PersonalDataHandler {
  /** Stable, unique name: the package's schema (`consent`, `audit`, `vault`...). */
  readonly name: string;
  /** Everything the package holds about the subject, as plain JSON. Never secrets in plaintext. */
  exportSubject(subjectId: string): Promise<unknown>;
  /** Erases the subject's personal data; idempotent. Returns how many records were affected. */
  eraseSubject(subjectId: string): Promise<{ erased: number }>;
}

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

// Keyed by the HTTP server, which every encapsulation context of one Fastify app shares: a handler
// registered inside any plugin is visible to the whole app, and two apps in one process stay apart.
const registries = new WeakMap<object, PersonalDataHandler[]>();

function registry(fastify: FastifyInstance): PersonalDataHandler[] {
  let list = registries.get(fastify.server);
  if (!list) registries.set(fastify.server, (list = []));
  return list;
}

/** Registers a package's handler so data rights and the age gate can reach every package's data. */
export function registerPersonalDataHandler(fastify: FastifyInstance, handler: PersonalDataHandler): void {
  const list = registry(fastify);
  if (list.some((h) => h.name === handler.name)) {
    throw Object.assign(new Error(`personal-data handler "${handler.name}" is registered twice`), {
      code: 'HF_CORE_DUPLICATE_HANDLER',
    });
  }
  list.push(handler);
}

/** Every personal-data handler registered in this app so far, in registration order. */
export function personalDataHandlers(fastify: FastifyInstance): readonly PersonalDataHandler[] {
  return registry(fastify);
}

export { openValue, prepareKeys, sealValue } from './signed.js';
export type { SigningKey } from './signed.js';

export { checkDatabaseOption, checkSubjectOption, optionErrors } from './options.js';
export type { OptionError } from './options.js';
export { cookieValues } from './cookies.js';
export { ipNetwork, normalizeIp } from './ip.js';
export { errorCodes, serializeError } from './errors.js';
export type { LoggedError } from './errors.js';
export { hookList } from './hooks.js';
export { readSecret } from './secrets-file.js';
export type { FoundSecret } from './secrets-file.js';
