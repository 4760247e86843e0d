/** The audit log's personal-data handler (export, erasure of a subject) and the chained recorder retention uses. */
import type { PersonalDataHandler } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { AuditEvent } from './event.js';
import { releaseHeldCopies, type ChainedRecorder } from './partitions-held.js';
import { idsDigest, isNoTombstones } from './tombstones.js';
import { ERASURE_ACTION, subjectEventIds, subjectEvents } from './store.js';
import { eraseEvents } from './store-erase.js';
import { randomUUID } from 'node:crypto';
import { proveEvent, readTreeHead, TreeReader, TreeUnavailable, type EventProof } from './tree.js';
import type { AuditWriter } from './writer.js';

/** What a subject's events look like in an export: everything but the chain internals. */
function exported(e: AuditEvent) {
  return {
    id: e.id,
    occurredAt: e.occurredAt.toISOString(),
    kind: e.kind,
    action: e.action,
    resource: e.resource,
    outcome: e.outcome,
    method: e.method,
    route: e.route,
    path: e.path,
    status: e.status,
    ip: e.ip,
    userAgent: e.userAgent,
    browser: { name: e.browserName, version: e.browserVersion },
    os: { name: e.osName, version: e.osVersion },
    deviceType: e.deviceType,
    details: e.details,
  };
}

/**
 * Erases a subject's personal fields from the log, and records it in the chain first (issue 12
 * item 2): an `audit.subject.erased` event (no subject in it) stating how many events were
 * erased, their id range and a SHA-256 over their sorted ids, committed with sync durability
 * before the update, which tags each event with the record's `erasureId`. `verify` reports an
 * erased event that no record covers. Interrupted between the two, the record stands with no
 * event tagged (verify lists it as incomplete) and a rerun erases the events under a new record.
 *
 * Events of the subject that are not stored yet (another replica's queue, a spill file, a batch
 * that failed and waits to be retried) are reached too (issue 30 item 5): before it lists the
 * subject's events, the erasure writes the subject's tombstone (tombstones.ts), once every batch
 * in flight on any replica has committed; every writer then inserts erased the subject's events
 * that occurred before it, and appends the record that states them.
 */
export async function eraseSubject(db: Database, writer: AuditWriter, subjectId: string): Promise<number> {
  // Events still in memory carry the subject too: commit them first so the erasure reaches them.
  await writer.flush();
  try {
    await writer.tombstone(subjectId, db);
  } catch (error) {
    // A database before migration 0005 (a test at an earlier layout) has nowhere to keep one.
    if (!isNoTombstones(error)) throw error;
  }
  // Held copies (a legal hold kept them past their day) go whole if no hold keeps them any more,
  // under a chained release; while a hold stands they stay as they are (issue 30 item 1: the app
  // role cannot change them).
  const released = await releaseHeldCopies(db, chainedRecorder(writer), subjectId);
  const list = await subjectEventIds(db, subjectId);
  if (!list.length) return released;
  const erasureId = randomUUID();
  const details = {
    erasureId,
    count: list.length,
    firstId: list[0]!.id,
    lastId: list.at(-1)!.id,
    idsSha256: idsDigest(list.map((e) => e.id)),
  };
  await writer.append({ kind: 'security', action: ERASURE_ACTION, outcome: 'success', details }, true).committed;
  return released + (await eraseEvents(db, subjectId, list, erasureId));
}

/** A security event appended by `writer` with sync durability: it resolves once committed. */
export function chainedRecorder(writer: AuditWriter): ChainedRecorder {
  return async ({ action, details }) => {
    await writer.append({ kind: 'security', action, outcome: 'success', details }, true).committed;
  };
}

/** The audit log's personal-data handler: export a subject's events; erase their personal fields. */
export function auditPersonalData(db: Database, writer: AuditWriter): PersonalDataHandler {
  return {
    name: 'audit',
    // User agent and IP are recorded with the account that made the request: account-scoped only.
    identifiers: ['account'],
    // A legal hold on the subject for this class keeps its events' personal fields through an erasure.
    retentionClasses: ['server_logs'],
    withheld:
      'chain internals: personal digests and their salts (each event comes with its chain hash and inclusion proof)',
    async *exportSubject(ref) {
      await writer.flush();
      // Each event with its inclusion proof in the latest signed head (issue 33 item 2): the
      // subject can check it with the public keys alone, after an erasure too (proofs.md).
      const reader = new TreeReader(db);
      const head = await readTreeHead(db).catch(() => null);
      for await (const event of subjectEvents(db, (ref as { accountId: string }).accountId)) {
        let proof: EventProof | null = null;
        try {
          const found = await proveEvent(db, event.id, reader, head);
          if (found.state === 'found') proof = found.proof;
        } catch (error) {
          if (!(error instanceof TreeUnavailable)) throw error;
        }
        yield { ...exported(event), proof };
      }
    },
    async eraseSubject(ref) {
      return { erased: await eraseSubject(db, writer, (ref as { accountId: string }).accountId) };
    },
  };
}
