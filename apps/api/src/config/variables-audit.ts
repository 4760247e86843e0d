/** The variable table's audit entries: IPs, the spill, the chain format, the log's origin and the streams. */
import { count, fromZero, oneOf, optional, variable } from './readers.js';
import type { EnvVariable } from './types.js';

const chainVersion = oneOf(['1', '2', '3'], '2');

export const AUDIT_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'AUDIT_IP_MODE',
    key: 'auditIpMode',
    shown: '`full`',
    meaning:
      "how the audit log stores client IPs: `full` (the policy's promise), `truncated` (/24, /64) or `keyed-hash`",
    read: oneOf(['full', 'truncated', 'keyed-hash'], 'full'),
  }),
  variable({
    name: 'AUDIT_IP_HASH_KEY',
    key: 'auditIpHashKey',
    shown: 'unset',
    meaning: 'HMAC key (≥ 32 characters) for `AUDIT_IP_MODE=keyed-hash` (required then)',
    read: optional,
  }),
  {
    name: 'AUDIT_SPILL_DIR',
    shown: '`DATA_DIR/audit-spill`',
    meaning:
      'where audit events wait (NDJSON, authenticated, in a 0700 subdirectory `hf-audit-<uid>`) while Postgres is unreachable; replayed when it is back',
    read: optional,
  },
  variable({
    name: 'AUDIT_CHAIN_VERSION',
    key: 'auditChainVersion',
    shown: '`2`',
    meaning:
      'the audit chain format new events are written in: `2` (path, resource and details are personal fields, erased with the subject), `3` (the lean row of issue 29: bytea hashes, interned user agents, routes and writers, batches by binary COPY; set it once every replica runs a version that reads it) or `1` while replicas of a version before issue 12 still run `verify` during a rolling upgrade (every format is always verified)',
    read: (t, problem) => Number(chainVersion(t, problem)) as 1 | 2 | 3,
  }),
  {
    name: 'AUDIT_LOG_ORIGIN',
    shown: "`PUBLIC_URL`'s host, then `/audit`",
    meaning:
      "the audit log's name (issue 33): the first line of its signed checkpoints and the key name of `AUDIT_SIGNING_KEYS` in the served verifier keys; a signed-note key name (no spaces, no `+`), e.g. `api.example.com/audit`. Set it in production and keep it: a changed origin (the default follows `PUBLIC_URL`) gives new key IDs, and earlier checkpoints verify only with the earlier verifier keys",
    read: optional,
  },
  variable({
    name: 'AUDIT_SPILL_MAX_MB',
    key: 'auditSpillMaxMb',
    shown: '`1024`',
    meaning: 'the most the spill directory holds',
    read: count(1024),
  }),
  variable({
    name: 'AUDIT_SPILL_FULL',
    key: 'auditSpillFull',
    shown: '`drop-access`',
    meaning:
      'when it is full: `drop-access` (access events are counted and dropped, security events kept; once the database is back one chained `audit.gap` event declares the count and time range, and `hf-audit verify` reports a declared gap, not tampering) or `fail-closed` (requests answer 503 `HF_AUDIT_UNAVAILABLE` while it is full)',
    read: oneOf(['drop-access', 'fail-closed'], 'drop-access'),
  }),
  variable({
    name: 'AUDIT_STREAMS_INTERVAL_SECONDS',
    key: 'auditStreamsIntervalSeconds',
    shown: '`5`',
    meaning:
      "seconds between runs of the audit streams' delivery job (issue 33 item 5; every replica runs it, each stream is sent by one at a time); `0`: none (no stream is sent)",
    read: fromZero(5, 3600, 'seconds', 'none'),
  }),
];
