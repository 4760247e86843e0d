/** Checks of a stored (or spilled) format-3 event: its personal digest and its link in the chain (verify, erasure). */
import { canonicalJson } from '@harakaflow/core';
import type { AuditEvent } from './event-types.js';
import { eventHash3, hash32, personalDigest3, salt16, type Fields3 } from './format3-layout.js';
import { uuidBytes } from './ids.js';

/** The fields of a stored (or spilled) event, as format 3 covers them; null when its id is not a UUID. */
function viewFields(e: AuditEvent): Fields3 | null {
  const id = uuidBytes(e.id);
  if (!id) return null;
  return {
    idHex: id.toString('hex'),
    occurredMs: e.occurredAt.getTime(),
    writer: e.writer,
    kind: e.kind,
    action: e.action,
    outcome: e.outcome,
    requestId: e.requestId,
    method: e.method,
    route: e.route,
    status: e.status,
    durationMs: e.durationMs,
    ipInvalid: e.ipInvalid,
    subjectId: e.subjectId,
    ip: e.ip,
    userAgent: e.userAgent,
    path: e.path,
    resource: e.resource,
    detailsJson: e.details === null || e.details === undefined ? null : canonicalJson(e.details),
  };
}

/**
 * The digest of a format-3 event's personal fields with its salt (hex), or null when the salt is not 16 bytes of hex.
 */
export function personalDigestOf(e: AuditEvent): string | null {
  const salt = salt16(e.personalSalt);
  const fields = viewFields(e);
  return salt && fields ? personalDigest3(salt, fields) : null;
}

/**
 * Checks a format-3 event on its own, given the hash it links to (`link`, hex: the event before
 * it, or for a segment's first event its stored `prevHash`). Null when it holds.
 */
export function eventProblem3(e: AuditEvent, link: string | null): string | null {
  const fields = viewFields(e);
  if (!fields) return 'fields do not match the event hash';
  let digest: string | null;
  if (e.personalSalt !== null) {
    const salt = salt16(e.personalSalt);
    if (!salt) return 'personal fields do not match their digest';
    digest = personalDigest3(salt, fields);
    // A stored digest (a spilled event) must agree.
    if (e.personalDigest && e.personalDigest !== digest) return 'personal fields do not match their digest';
  } else {
    if (
      e.erasedAt === null ||
      e.subjectId !== null ||
      e.ip !== null ||
      e.userAgent !== null ||
      e.path !== null ||
      e.resource !== null ||
      e.details !== null
    ) {
      return 'salt removed without an erasure';
    }
    digest = hash32(e.personalDigest);
    if (!digest) return 'erased without its digest';
  }
  const prev = hash32(link);
  if (!prev) return 'no link to check the event hash against';
  if (eventHash3(prev, fields, digest) !== e.hash)
    return link === e.prevHash && e.prevHash
      ? 'fields do not match the event hash'
      : 'fields do not match the event hash, or it does not link to the event before it';
  return null;
}
