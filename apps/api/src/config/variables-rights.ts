/**
 * The variable table's entries for people's choices and rights: a minor's erasure (§8), consent's default (§7), data
 * rights' clocks (§6).
 */
import { count, oneOf, quote, variable, whole } from './readers.js';
import type { EnvVariable } from './types.js';

export const RIGHTS_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'MINOR_ERASURE_DELAY_MS',
    key: 'minorErasureDelayMs',
    shown: '`0`',
    meaning: "delay between a minor's report and the erasure of their data (0: at once)",
    read: whole(0, /^\d{1,10}$/, Infinity, (v) => `must be a whole number of milliseconds (got ${quote(v)})`),
  }),
  variable({
    name: 'CONSENT_DEFAULT_ANALYTICS',
    key: 'consentDefaultAnalytics',
    shown: '`granted`',
    meaning:
      "analytics for a visitor who has not decided: `granted` is the policy's opt-out model (§7); `denied` for opt-in jurisdictions",
    read: oneOf(['granted', 'denied'], 'granted'),
  }),
  variable({
    name: 'DATA_RIGHTS_DUE_DAYS',
    key: 'dataRightsDueDays',
    shown: '`30`',
    meaning: 'days to answer a rights request (1 to 30: §6 promises 30)',
    read: count(30, {
      max: 30,
      says: (n) => `must be at most 30 (policy §6 promises an answer within 30 days; got ${n})`,
    }),
  }),
  variable({
    name: 'DATA_RIGHTS_PURGE_AFTER_DAYS',
    key: 'dataRightsPurgeAfterDays',
    shown: '`7`',
    meaning:
      "days between an account's deletion request and its purge, 0 to 30 (§4: within 30); the account can cancel meanwhile; `0` purges at once",
    read: whole(7, /^\d{1,2}$/, 30, (v) => `must be a whole number of days from 0 to 30 (policy §4; got ${quote(v)})`),
  }),
  variable({
    name: 'DATA_RIGHTS_EXPORT_TTL_HOURS',
    key: 'dataRightsExportTtlHours',
    shown: '`120`',
    meaning: "how long an export's one-time link works (1 to 720)",
    read: count(120, { max: 720, says: (n) => `must be at most 720 (got ${n})` }),
  }),
];
