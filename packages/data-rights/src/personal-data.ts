import type { PersonalDataHandler } from '@harakaflow/core';
import { eq, sql } from 'drizzle-orm';
import { requests } from './schema.js';
import { subjectHash } from './subject.js';
import type { DataRightsConfig } from './types.js';

/** The data-rights package's own personal data: its requests about the subject. */
export function requestsPersonalData(c: Pick<DataRightsConfig, 'db' | 'subjectKey'>): PersonalDataHandler {
  return {
    name: 'data_rights',
    identifiers: ['account', 'contact', 'email'],
    exportSubject: async (ref) => {
      const rows = await c.db.select().from(requests).where(eq(requests.subjectHash, subjectHash(c.subjectKey, ref)));
      return { requests: rows.map((r) => ({ id: r.id, kind: r.kind, status: r.status, receivedAt: r.receivedAt.toISOString(), history: r.history })) };
    },
    // Requests are the proof that the rights were answered: their identifiers go (the job does
    // it for the whole account at its end), their hashes and history stay, and say so.
    eraseSubject: async (ref) => {
      const [{ n } = { n: 0 }] = await c.db
        .select({ n: sql<number>`count(*)::int` })
        .from(requests)
        .where(eq(requests.subjectHash, subjectHash(c.subjectKey, ref)));
      return { erased: 0, kept: [{ count: Number(n), reason: 'privacy requests (policy §6): kept as a keyed hash of the subject with their history, the proof that each was answered' }] };
    },
  };
}
