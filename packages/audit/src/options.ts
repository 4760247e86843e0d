/** Options of the audit plugin: types, defaults and the checks that run at registration. */
import {
  checkDatabaseOption,
  checkSubjectOption,
  integerOption,
  prepareKeys,
  type SubjectResolver,
} from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import type { IpMode } from './capture.js';
import { invalidOption } from './errors.js';
import type { HeadSigner } from './tree.js';
import type { Checkpoint, CopyMode } from './writes.js';
import type { WriterOptions } from './writer.js';

export interface AuditOptions {
  /** The database (schema `audit`). Required. */
  db: Database;
  /** HMAC keys that sign segment checkpoints, at least 32 characters each: the first signs, all verify. Required. */
  checkpointKeys: readonly string[];
  /** One access event per request. Default true. */
  access?: boolean | undefined;
  /** Paths or route patterns without access events. Default ['/health']. */
  skip?: readonly string[] | undefined;
  /** Keep the query string in `path` (it often carries tokens). Default false. */
  keepQuery?: boolean | undefined;
  /** How the client IP is stored: 'full' (default), 'truncated' (/24, /64) or 'keyed-hash'. */
  ipMode?: IpMode | undefined;
  /** HMAC key of ipMode 'keyed-hash', at least 32 characters. */
  ipHashKey?: string | undefined;
  subject?: SubjectResolver | undefined;
  /** Names this instance's hash chain. Default `<hostname>-<pid>-<random>`: unique per running instance. */
  writerId?: string | undefined;
  /** Events per batch (one statement). Default 1000. */
  batchSize?: number | undefined;
  /** Batches written at once, each on its own connection. Default 2. */
  concurrency?: number | undefined;
  /** Longest wait before a partial batch is written, ms. Default 250. */
  flushIntervalMs?: number | undefined;
  /** Events kept in memory while the database fails before the oldest are spilled to disk. Default 10 000. */
  maxBuffered?: number | undefined;
  /**
   * Directory of spill files, or false to never spill (events then stay in memory). Required: there
   * is no default under the shared temp directory. Files go in a 0700 subdirectory `hf-audit-<uid>`.
   */
  spillDir: string | false;
  /**
   * Chain format of new events: 2 (default; erasure removes path, resource and details), 3 (the
   * lean row of issue 29: set it once every replica runs a version that reads it), or 1.
   */
  chainVersion?: 1 | 2 | 3 | undefined;
  /**
   * How format-3 batches are written on Postgres (postgres.js): `'auto'` (default) by binary COPY
   * on a pool `@harakaflow/db` made, unless made for a transaction pooler (`pooler: 'transaction'`),
   * else by UNNEST; `true` always COPY; `false` always UNNEST. PGlite always UNNEST. README, "COPY
   * or UNNEST".
   */
  copy?: CopyMode | undefined;
  /** The most the spill directory may hold, bytes. Default 1 GiB. */
  spillMaxBytes?: number | undefined;
  /**
   * When it is full: 'drop-access' (default: access events are counted and dropped, security events
   * kept, and one chained `audit.gap` event declares each gap once writes succeed), or 'fail-closed'
   * (requests are answered 503 HF_AUDIT_UNAVAILABLE while it is full).
   */
  spillFull?: 'drop-access' | 'fail-closed' | undefined;
  /** First retry delay cap, ms (doubles per failure, full jitter). Default 100. */
  retryBaseMs?: number | undefined;
  /**
   * Largest retry delay, ms. Default 5000: once the database is back the backlog goes within seconds (issue 28 item 6).
   */
  retryMaxMs?: number | undefined;
  /** A batch write taking longer counts as failed and is retried, ms. Default 10 000. */
  writeTimeoutMs?: number | undefined;
  /** Warn when the oldest undelivered event is older than this, ms. Default 60 000. */
  staleAfterMs?: number | undefined;
  /** Parsed user agents kept in the LRU. Default 1000. */
  userAgentCacheSize?: number | undefined;
  /** Receives each committed checkpoint, to keep a copy outside the database (a log, object storage). */
  onCheckpoint?: ((checkpoint: Checkpoint) => void) | undefined;
  /**
   * Days the log is kept (policy §4: server logs up to 90 days), registered as the retention class
   * `server_logs` that `@harakaflow/retention` runs: whole day partitions are dropped, spill files
   * as old removed. 7 to 3650; default 90. `false`: no class (another purge owns the log).
   */
  retentionDays?: number | false | undefined;
  /**
   * Signs the Merkle tree's heads as C2SP checkpoints (issue 33): `AuditSigningKeys` (note.ts),
   * made from `AUDIT_SIGNING_KEYS`. Unset: the tree is still built and proofs served, but its
   * heads are unsigned (HMAC checkpoints only); set it.
   */
  signer?: HeadSigner | null | undefined;
  /**
   * How often this replica appends committed events to the tree and signs its head, ms (one replica at a time). Default
   * 10 000; false: never (another process does).
   */
  treeIntervalMs?: number | false | undefined;
  /** Hears each newly signed head (a C2SP signed note): send it to witnesses. */
  onTreeHead?: ((head: { size: number; root: Buffer; note: string }) => void | Promise<void>) | undefined;
}

/** The writer's own settings pass through unchanged; the rest are the plugin's. */
export type ResolvedOptions = Pick<
  WriterOptions,
  | 'batchSize'
  | 'flushIntervalMs'
  | 'maxBuffered'
  | 'spillDir'
  | 'retryBaseMs'
  | 'retryMaxMs'
  | 'writeTimeoutMs'
  | 'staleAfterMs'
  | 'onCheckpoint'
  | 'chainVersion'
  | 'spillMaxBytes'
  | 'copy'
> & {
  spillFull: 'drop-access' | 'fail-closed';
  db: Database;
  checkpointKeys: KeyObject[];
  access: boolean;
  skip: Set<string>;
  keepQuery: boolean;
  ipMode: IpMode;
  ipHashKey: KeyObject | undefined;
  subject: SubjectResolver;
  writerId: string;
  concurrency: number;
  userAgentCacheSize: number;
  retentionDays: number | false;
  signer: HeadSigner | null;
  treeIntervalMs: number | false;
  onTreeHead: ((head: { size: number; root: Buffer; note: string }) => void | Promise<void>) | undefined;
};

const IP_MODES: readonly IpMode[] = ['full', 'truncated', 'keyed-hash'];

const positiveInteger = (name: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number =>
  integerOption(invalidOption, name, value, fallback, 1, max);

/** Checks the checkpoint keys (also used by the CLI and verifyChain). */
export function checkpointKeyObjects(keys: unknown, option = 'checkpointKeys'): KeyObject[] {
  if (!Array.isArray(keys) || !keys.length || keys.some((k) => typeof k !== 'string' || k.length < 32)) {
    throw invalidOption(option, 'must be a non-empty list of secrets of at least 32 characters each (the first signs)');
  }
  return prepareKeys(keys as string[]);
}

export function resolveOptions(options: AuditOptions): ResolvedOptions {
  const db = checkDatabaseOption(options.db, invalidOption);
  const ipMode = options.ipMode ?? 'full';
  if (!IP_MODES.includes(ipMode)) throw invalidOption('ipMode', `must be one of ${IP_MODES.join(', ')}`);
  let ipHashKey: KeyObject | undefined;
  if (ipMode === 'keyed-hash') {
    if (typeof options.ipHashKey !== 'string' || options.ipHashKey.length < 32) {
      throw invalidOption('ipHashKey', 'must be a secret of at least 32 characters when ipMode is keyed-hash');
    }
    ipHashKey = createSecretKey(Buffer.from(options.ipHashKey, 'utf8'));
  }
  if (options.skip !== undefined && (!Array.isArray(options.skip) || options.skip.some((s) => typeof s !== 'string'))) {
    throw invalidOption('skip', 'must be a list of paths or route patterns');
  }
  if (
    options.writerId !== undefined &&
    (typeof options.writerId !== 'string' || !/^[\w.:-]{1,100}$/.test(options.writerId))
  ) {
    throw invalidOption('writerId', 'must be 1 to 100 letters, digits, or . _ : -');
  }
  if (options.spillDir !== false && (typeof options.spillDir !== 'string' || !options.spillDir)) {
    throw invalidOption(
      'spillDir',
      'is required: a directory path (spill files go in a 0700 subdirectory of it) or false to never spill',
    );
  }
  if (options.copy !== undefined && options.copy !== true && options.copy !== false && options.copy !== 'auto')
    throw invalidOption('copy', "must be true, false or 'auto'");
  if (
    options.chainVersion !== undefined &&
    options.chainVersion !== 1 &&
    options.chainVersion !== 2 &&
    options.chainVersion !== 3
  )
    throw invalidOption('chainVersion', 'must be 1, 2 or 3');
  const spillFull = options.spillFull ?? 'drop-access';
  if (spillFull !== 'drop-access' && spillFull !== 'fail-closed')
    throw invalidOption('spillFull', "must be 'drop-access' or 'fail-closed'");
  if (options.onCheckpoint !== undefined && typeof options.onCheckpoint !== 'function')
    throw invalidOption('onCheckpoint', 'must be a function');
  if (options.onTreeHead !== undefined && typeof options.onTreeHead !== 'function')
    throw invalidOption('onTreeHead', 'must be a function');
  const signer = options.signer ?? null;
  if (
    signer !== null &&
    (typeof signer !== 'object' || typeof signer.signNote !== 'function' || typeof signer.origin !== 'string')
  )
    throw invalidOption('signer', 'must be AuditSigningKeys (or an object with origin and signNote)');
  const retryBaseMs = positiveInteger('retryBaseMs', options.retryBaseMs, 100);
  const retryMaxMs = positiveInteger('retryMaxMs', options.retryMaxMs, 5000);
  if (retryMaxMs < retryBaseMs) throw invalidOption('retryMaxMs', 'must not be less than retryBaseMs');
  if (typeof options.retentionDays === 'number' && options.retentionDays < 7)
    throw invalidOption('retentionDays', 'must be at least 7 (the last week of the log is never purged) or false');
  const batchSize = positiveInteger('batchSize', options.batchSize, 1000, 10_000);
  const maxBuffered = positiveInteger('maxBuffered', options.maxBuffered, 10_000);
  if (maxBuffered < batchSize) throw invalidOption('maxBuffered', 'must not be less than batchSize');
  return {
    db,
    checkpointKeys: checkpointKeyObjects(options.checkpointKeys),
    access: options.access ?? true,
    skip: new Set(options.skip ?? ['/health', '/health/live', '/health/ready']),
    keepQuery: options.keepQuery ?? false,
    ipMode,
    ipHashKey,
    subject: checkSubjectOption(options.subject, invalidOption),
    writerId:
      options.writerId ??
      `${hostname()
        .replace(/[^\w.-]/g, '_')
        .slice(0, 60)}-${process.pid}-${randomBytes(4).toString('hex')}`,
    batchSize,
    concurrency: positiveInteger('concurrency', options.concurrency, 2, 16),
    flushIntervalMs: positiveInteger('flushIntervalMs', options.flushIntervalMs, 250),
    maxBuffered,
    spillDir: options.spillDir === false ? null : options.spillDir,
    chainVersion: options.chainVersion ?? 2,
    copy: options.copy ?? 'auto',
    spillMaxBytes: positiveInteger('spillMaxBytes', options.spillMaxBytes, 1024 * 1024 * 1024),
    spillFull,
    retryBaseMs,
    retryMaxMs,
    writeTimeoutMs: positiveInteger('writeTimeoutMs', options.writeTimeoutMs, 10_000),
    staleAfterMs: positiveInteger('staleAfterMs', options.staleAfterMs, 60_000),
    userAgentCacheSize: positiveInteger('userAgentCacheSize', options.userAgentCacheSize, 1000),
    onCheckpoint: options.onCheckpoint,
    retentionDays:
      options.retentionDays === false ? false : positiveInteger('retentionDays', options.retentionDays, 90, 3650),
    signer,
    treeIntervalMs:
      options.treeIntervalMs === false
        ? false
        : positiveInteger('treeIntervalMs', options.treeIntervalMs, 10_000, 3_600_000),
    onTreeHead: options.onTreeHead,
  };
}
