// The personal-data handler of audit streams: an account's streams (destinations) exported; erased: they end.
import type { SubjectRef } from '@harakaflow/core';
import { shownUrl, type AuditStream, type StreamOwner } from './stream-model.js';

/** What the handler needs of the streams. */
interface AccountStreams {
  list(owner: StreamOwner): Promise<AuditStream[]>;
  endAccount(accountId: string): Promise<number>;
}

/** The personal-data handler: an account's streams (destinations) exported; erased: they end. */
export function streamsPersonalData(streams: AccountStreams) {
  return {
    name: 'audit_streams',
    identifiers: ['account'] as const,
    withheld: 'signing secrets; destinations without their query string',
    async exportSubject(ref: SubjectRef) {
      const accountId = (ref as { accountId: string }).accountId;
      return {
        streams: (await streams.list({ kind: 'account', id: accountId })).map((s) => ({
          id: s.id,
          url: shownUrl(s.url),
          format: s.format,
          createdAt: s.createdAt.toISOString(),
        })),
      };
    },
    async eraseSubject(ref: SubjectRef) {
      return { erased: await streams.endAccount((ref as { accountId: string }).accountId) };
    },
  };
}
