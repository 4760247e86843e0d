// The account notices `GET /v1/me` carries, remembered per replica for a short while.
import { errorCodes } from '@harakaflow/core';
import type { AccountNotice } from '@harakaflow/notify';
import type { FastifyInstance } from 'fastify';

/** Accounts whose notices one replica remembers at most (the oldest forgotten first), like the auth cache's keys. */
const NOTICE_ENTRIES = 10_000;
const NO_NOTICES: readonly AccountNotice[] = Object.freeze([]);

/**
 * Issue 34 item 4: the notices `GET /v1/me` carries (legal notices that bounced or drew a
 * complaint, until acknowledged), read at most once per `ttlMs` per account on a replica
 * (AUTH_CACHE_MS: the hot path reads memory, as it does for the key). A notice recorded on another
 * replica appears within that time; one acknowledged here is forgotten here at once. The first read
 * that returns a notice records it as shown (the account's export says so).
 */
export function noticeCache(app: Pick<FastifyInstance, 'notify' | 'log'>, ttlMs: number) {
  const entries = new Map<string, { until: number; notices: readonly AccountNotice[] }>();
  return {
    /** The notices remembered for the account, or undefined (then `load`). */
    peek(accountId: string): readonly AccountNotice[] | undefined {
      const hit = entries.get(accountId);
      return hit && hit.until > Date.now() ? hit.notices : undefined;
    },
    async load(accountId: string): Promise<readonly AccountNotice[]> {
      // GET /v1/me answers without them rather than 500 when they cannot be read (e.g. before the
      // app role is granted notify.deliveries): logged, and read again at the next request.
      const read = await app.notify.notices(accountId, { markShown: true }).catch((error: unknown) => {
        app.log.error(
          { err: errorCodes(error) },
          "notices: the account's notices could not be read; answered without them",
        );
        return null;
      });
      if (read === null) return NO_NOTICES;
      const notices = read.length ? Object.freeze(read.map((n) => Object.freeze(n))) : NO_NOTICES;
      if (ttlMs > 0) {
        entries.delete(accountId);
        if (entries.size >= NOTICE_ENTRIES) entries.delete(entries.keys().next().value!);
        entries.set(accountId, { until: Date.now() + ttlMs, notices });
      }
      return notices;
    },
    invalidate(accountId: string): void {
      entries.delete(accountId);
    },
  };
}
