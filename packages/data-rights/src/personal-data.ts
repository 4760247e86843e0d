import type { PersonalDataHandler } from '@harakaflow/core';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { messages, requests, verifications } from './schema.js';
import { subjectHash } from './subject.js';
import type { DataRightsConfig } from './types.js';

/** The data-rights package's own personal data: its requests about the subject. */
export function requestsPersonalData(c: Pick<DataRightsConfig, 'db' | 'subjectKey'>): PersonalDataHandler {
  return {
    name: 'data_rights',
    identifiers: ['account', 'contact', 'email'],
    exportSubject: async (ref) => {
      const rows = await c.db
        .select()
        .from(requests)
        .where(eq(requests.subjectHash, subjectHash(c.subjectKey, ref)));
      // An address's requests still waiting for their emailed code (issue 32): what each asks.
      const waiting =
        ref.kind === 'email'
          ? await c.db
              .select()
              .from(verifications)
              .where(and(eq(verifications.address, ref.email.toLowerCase()), isNotNull(verifications.pending)))
          : [];
      return {
        requests: rows.map((r) => ({
          id: r.id,
          kind: r.kind,
          status: r.status,
          receivedAt: r.receivedAt.toISOString(),
          history: r.history,
        })),
        ...(waiting.length
          ? {
              awaitingCode: waiting.map((w) => ({
                id: w.requestId,
                kind: w.pending!.kind,
                receivedAt: w.receivedAt.toISOString(),
              })),
            }
          : {}),
      };
    },
    // Requests are the proof that the rights were answered: their identifiers go (the job does
    // it for the whole account at its end), their hashes and history stay, and say so.
    eraseSubject: async (ref) => {
      // A form's request never confirmed is nobody's proof of anything: it goes.
      const unconfirmed =
        ref.kind === 'email'
          ? await c.db
              .delete(verifications)
              .where(and(eq(verifications.address, ref.email.toLowerCase()), isNotNull(verifications.pending)))
              .returning({ id: verifications.requestId })
          : [];
      const [{ n } = { n: 0 }] = await c.db
        .select({ n: sql<number>`count(*)::int` })
        .from(requests)
        .where(eq(requests.subjectHash, subjectHash(c.subjectKey, ref)));
      const kept = [
        {
          count: Number(n),
          reason:
            'privacy requests (policy §6): kept as a keyed hash of the subject with their history, the proof that each was answered',
        },
      ];
      // The messages a request came in by are its proof too: sealed, deleted with it (retention class rights_requests).
      const [{ sealed } = { sealed: 0 }] = await c.db
        .select({ sealed: sql<number>`count(*)::int` })
        .from(messages)
        .innerJoin(requests, eq(requests.id, messages.requestId))
        .where(and(eq(requests.subjectHash, subjectHash(c.subjectKey, ref)), eq(messages.sealed, true)));
      if (Number(sealed))
        kept.push({
          count: Number(sealed),
          reason:
            'the messages the requests came in by: sealed in the vault as their proof, deleted with them (retention class rights_requests)',
        });
      return { erased: unconfirmed.length, kept };
    },
  };
}
