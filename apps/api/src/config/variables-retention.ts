/**
 * The variable table's retention entries (§4): periods, the runner's schedule and batches; AUTH_CACHE_MS
 * sits among them where the table has always listed it (the README and .env.example keep that order).
 */
import { count, fromZero, variable } from './readers.js';
import type { EnvVariable } from './types.js';

/** §4: "message logs up to 90 days by default, configurable on higher plans"; "server logs up to 90 days". */
const days = (fallback: number, max: number) =>
  count(fallback, { max, says: (n) => `must be at most ${max} days (policy §4; got ${n})` });

const serverLogDays = days(90, 90);

export const RETENTION_VARIABLES: readonly EnvVariable[] = [
  {
    name: 'RETENTION_MESSAGE_LOG_DAYS',
    shown: '`90`',
    meaning:
      "days the free plan's message log is kept (1 to 90, §4): a row goes at the first run after it is that many days old (a cutoff of now − N days, not a UTC midnight)",
    read: days(90, 90),
  },
  {
    name: 'RETENTION_MESSAGE_LOG_DAYS_PRO',
    shown: '`180`',
    meaning: 'the same for the pro plan (1 to 365: "configurable on higher plans")',
    read: days(180, 365),
  },
  {
    name: 'RETENTION_MESSAGE_LOG_DAYS_BUSINESS',
    shown: '`365`',
    meaning: 'the same for the business plan (1 to 365)',
    read: days(365, 365),
  },
  variable({
    name: 'RETENTION_RIGHTS_REQUESTS_DAYS',
    key: 'retentionRightsRequestsDays',
    shown: '`1095`',
    meaning:
      'days a closed rights request (fulfilled, denied, canceled or expired) is kept after its last change, with the messages it came in by (sealed in the vault), as the proof that it was answered (30 to 3650, §4 and §6; retention class `rights_requests`); a restriction in force, an erasure a legal hold keeps, or an account on hold keeps its requests longer',
    read: count(1095, { min: 30, max: 3650, says: (n) => `must be from 30 to 3650 days (got ${n})` }),
  }),
  variable({
    name: 'RETENTION_SERVER_LOG_DAYS',
    key: 'retentionServerLogDays',
    shown: '`90`',
    meaning:
      'days the audit log is kept (7 to 90, §4): today and the N − 1 whole UTC days before it stay, so no event is older than N days; older day partitions are dropped whole; the last week never is',
    read: (t, problem) => {
      const n = serverLogDays(t, problem);
      if (n < 7) problem(`must be at least 7 (the last week of the audit log is never purged; got ${n})`);
      return n;
    },
  }),
  variable({
    name: 'RETENTION_INTERVAL_MINUTES',
    key: 'retentionIntervalMinutes',
    shown: '`60`',
    meaning:
      'minutes between retention runs (with jitter; one replica at a time); `0`: none scheduled (`hf-retention run`)',
    read: fromZero(60, 1440, 'minutes', 'none'),
  }),
  variable({
    name: 'AUTH_CACHE_MS',
    key: 'authCacheMs',
    shown: '`1000`',
    meaning:
      "how long an API key's resolution is reused (0 to 60,000 ms; `0`: every request asks the database). The replica that changes an account (a deletion requested, a correction, an admin action, a key revoked with `DELETE /v1/keys/:id`) forgets it at once; other replicas within this time",
    read: fromZero(1000, 60_000, 'milliseconds', 'no cache'),
  }),
  variable({
    name: 'RETENTION_BATCH_SIZE',
    key: 'retentionBatchSize',
    shown: '`5000`',
    meaning: 'rows one retention batch removes, each its own short transaction (1 to 100,000)',
    read: count(5000, { max: 100_000, says: (n) => `must be at most 100000 rows (got ${n})` }),
  }),
  variable({
    name: 'RETENTION_BATCH_PAUSE_MS',
    key: 'retentionBatchPauseMs',
    shown: '`0`',
    meaning:
      'a pause after each batch (0 to 60,000 ms): the throttle that trades purge speed for request latency (figures in packages/retention/README.md)',
    read: fromZero(0, 60_000, 'milliseconds'),
  }),
];
