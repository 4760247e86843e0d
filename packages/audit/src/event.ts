/**
 * An audit event, its canonical encoding and its place in a hash chain. Plain functions: a
 * reviewer can check the chain rules here without Fastify or a database.
 *
 * Version 2 (written since issue 12):
 *   personal_digest = SHA-256(salt || canonical([subjectId, ip, userAgent, path, resource, details]))
 *   hash            = SHA-256(prev_hash "\n" canonical(["hf-audit-v2", every other field..., personal_digest]))
 * Version 1 (still verified): the digest covers subjectId, ip and userAgent only, and path,
 * resource and details are hashed in clear, so erasure cannot remove them.
 *
 * Personal fields enter the chain only through their salted digest: erasing them (and the salt)
 * leaves every hash intact, and without the salt the digest of an IP cannot be brute-forced. Paths,
 * resources and details are personal too: session ids and resources are often phone numbers
 * (`/v1/whatsapp/sessions/kid-254799999999/...`); the route pattern stays in clear.
 * `seq` is not hashed: the chain itself orders the events, so a swapped seq shows as "reordered".
 *
 * Version 3 (issue 29, format3.ts): the same coverage as version 2 computed from one fixed binary
 * layout instead of JSON, hashes, digest and salt as bytes, and rows that keep neither `prev_hash`
 * (except on a segment's first event) nor the digest (until erasure).
 */
import { canonicalJson } from '@harakaflow/core';
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { eventProblem3 } from './format3-check.js';

/** The label of genesis hashes and checkpoint payloads (unchanged since version 1). */
export const CHAIN_VERSION = 'hf-audit-v1';
/**
 * The event format writers use by default: 2 in the release that adds 3 (readers first: a replica
 * of the earlier release reads formats 1 and 2 only); `AUDIT_CHAIN_VERSION=3` switches writers once
 * every replica runs this one.
 */
export const CURRENT_CHAIN_VERSION = 2;
export type ChainVersion = 1 | 2 | 3;

export type { AuditEvent, AuditEventInput, DeviceType } from './event-types.js';
import type { AuditEvent } from './event-types.js';

// JSON with object keys sorted at every level (core's): the same value always encodes to the same
// bytes, whatever order a jsonb column gives its keys back in. The chain's hashes depend on it.
export { canonicalJson };

// crypto.hash (Node 20.12+) is the one-shot form: no Hash object per call, about twice as fast for
// inputs this small, and audit hashes twice per event on the request path.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256: (text: string) => string = oneShot
  ? (text) => oneShot('sha256', text, 'hex')
  : (text) => createHash('sha256').update(text).digest('hex');

/** The hash a writer's first segment links to: fixed per writer, so a chain cannot be spliced onto another. */
export function genesisHash(writer: string): string {
  return sha256(`${CHAIN_VERSION} genesis ${writer}`);
}

/** The personal fields of an event, as its digest covers them. */
export type PersonalFields = Pick<AuditEvent, 'subjectId' | 'ip' | 'userAgent' | 'path' | 'resource' | 'details'>;

/** The salted digest that stands for an event's personal fields in its hash. */
export function personalDigest(salt: string, version: number, e: PersonalFields): string {
  if (version === 1) return sha256(salt + JSON.stringify([e.subjectId, e.ip, e.userAgent]));
  return sha256(
    salt +
      JSON.stringify([
        e.subjectId,
        e.ip,
        e.userAgent,
        e.path,
        e.resource,
        e.details === null || e.details === undefined ? null : canonicalJson(e.details),
      ]),
  );
}

/** The fields erasure nulls in an event of this version (v1 hashes path, resource and details in clear). */
export function erasableFields(version: number): readonly (keyof PersonalFields)[] {
  return version === 1
    ? ['subjectId', 'ip', 'userAgent']
    : ['subjectId', 'ip', 'userAgent', 'path', 'resource', 'details'];
}

type Chained = Omit<
  AuditEvent,
  'hash' | 'seq' | 'day' | 'erasedAt' | 'erasedBy' | 'personalSalt' | 'subjectId' | 'ip' | 'userAgent'
>;

/**
 * Everything of an event that the chain covers except the personal fields, in a fixed order. All
 * members are strings, numbers, booleans or null (details enter as their canonical JSON text), so
 * plain JSON.stringify of the list is canonical.
 */
function chainedFields(e: Chained): unknown[] {
  if (e.chainVersion === 1) {
    return [
      CHAIN_VERSION,
      e.id,
      e.occurredAt.getTime(),
      e.writer,
      e.kind,
      e.action,
      e.resource,
      e.outcome,
      e.requestId,
      e.method,
      e.route,
      e.path,
      e.status,
      e.durationMs,
      e.ipInvalid,
      e.browserName,
      e.browserVersion,
      e.osName,
      e.osVersion,
      e.deviceType,
      e.details === null || e.details === undefined ? null : canonicalJson(e.details),
      e.personalDigest,
    ];
  }
  return [
    'hf-audit-v2',
    e.id,
    e.occurredAt.getTime(),
    e.writer,
    e.kind,
    e.action,
    e.outcome,
    e.requestId,
    e.method,
    e.route,
    e.status,
    e.durationMs,
    e.ipInvalid,
    e.browserName,
    e.browserVersion,
    e.osName,
    e.osVersion,
    e.deviceType,
    e.personalDigest,
  ];
}

export function eventHash(e: Chained): string {
  return sha256(`${e.prevHash}\n${JSON.stringify(chainedFields(e))}`);
}

/**
 * Checks an event on its own: its hash, and its personal fields against their digest. A version-3
 * event's hash covers its link, which its row keeps only on a segment's first event: `link` is
 * the hash of the event before it (verify passes it; an event from a spill file carries it).
 */
export function eventProblem(e: AuditEvent, link?: string | null): string | null {
  const version = e.chainVersion ?? 1;
  if (version === 3) return eventProblem3(e, link ?? (e.prevHash || null));
  if (version !== 1 && version !== 2) return `unknown chain version ${String(version)}`;
  if (e.personalSalt !== null) {
    if (personalDigest(e.personalSalt, version, e) !== e.personalDigest)
      return 'personal fields do not match their digest';
  } else if (e.erasedAt === null || erasableFields(version).some((f) => e[f] !== null)) {
    return 'salt removed without an erasure';
  }
  if (eventHash(e) !== e.hash) return 'fields do not match the event hash';
  return null;
}

/** The UTC day (YYYY-MM-DD) an instant belongs to: the chain segment it goes into. */
export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** The payload a checkpoint's HMAC covers. */
export function checkpointPayload(
  writer: string,
  day: string,
  count: number,
  lastHash: string,
  closed: boolean,
): string {
  return canonicalJson([CHAIN_VERSION, 'checkpoint', writer, day, count, lastHash, closed]);
}
