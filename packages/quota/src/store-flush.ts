/**
 * The flush of the quota store (store.ts): one round trip that writes every touched key's
 * increments, reads back the global counts and answers the exact operations queued meanwhile; while
 * the store is down, a probe instead.
 */
import { withTimeout } from '@harakaflow/core';
import type { Backend, BatchOp, Reading } from './backend.js';
import { storeTimedOut } from './store-config.js';
import { DOWN, KNOWN, UNKNOWN, type Entry } from './store-entries.js';

/** An exact op waiting for the next flush (never rejected: a failure is answered by the insurance limiter). */
export interface Queued {
  op: BatchOp;
  limit: string;
  resolve(reading: Reading | null): void;
}

/** What a flush reads and updates of its store (Store has it). */
export interface FlushHost {
  /** Store operations sent. */
  calls: number;
  /** Every part of the last flush failed. */
  down: boolean;
  lastError: unknown;
  readonly backend: Backend;
  readonly timeoutMs: number;
  /** Puts an exact op back for the next flush. */
  requeue(q: Queued): void;
  /** Queues an entry for the next flush. */
  retry(e: Entry): void;
  /** The insurance limiter's answer to an exact op the store could not answer. */
  fallbackOp(limit: string, op: BatchOp): Reading | null;
}

/** A flush, which never rejects: whatever goes wrong, nobody is left waiting. */
export async function flush(host: FlushHost, entries: Entry[], queued: Queued[]): Promise<void> {
  try {
    await (host.down ? probe(host, entries, queued) : write(host, entries, queued));
  } catch (error) {
    host.lastError = error;
    for (const e of entries) {
      e.sending = 0;
      if (e.state === UNKNOWN) e.state = DOWN;
      wake(e);
    }
    for (const q of queued) q.resolve(host.fallbackOp(q.limit, q.op));
  }
}

async function write(host: FlushHost, entries: Entry[], queued: Queued[]): Promise<void> {
  const ops: BatchOp[] = [];
  for (const e of entries) {
    e.queued = false;
    e.sending = e.pending;
    e.pending = 0;
    ops.push({ op: 'add', key: e.counter.prefix + e.key, n: e.sending, ms: e.counter.durationMs });
  }
  // Exact ops, one per key (a batch names each key once): a write wins over reads of the same key.
  const byKey = new Map<string, Queued[]>();
  for (const q of queued) {
    const list = byKey.get(q.op.key);
    if (list) list.push(q);
    else byKey.set(q.op.key, [q]);
  }
  const exact: Queued[][] = [];
  const counted = byKey.size ? new Set(ops.map((o) => o.key)) : null;
  for (const [key, list] of byKey) {
    if (counted!.has(key)) {
      // Never in practice (bans and counters have their own keys): answered after this flush.
      for (const q of list) host.requeue(q);
      continue;
    }
    const write = list.findLast((q) => q.op.op === 'set');
    ops.push(write ? write.op : list[0]!.op);
    exact.push(list);
  }
  host.calls += ops.length;

  let results: (Reading | null | Error)[];
  let whole: unknown = null;
  try {
    results = ops.length ? await withTimeout(host.backend.batch(ops), host.timeoutMs, storeTimedOut) : [];
  } catch (error) {
    whole = error;
    results = ops.map(() => error as Error);
  }
  if (whole !== null) {
    host.lastError = whole;
    host.down = true;
  }
  const now = Date.now();
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const r = results[i];
    // Dropped either way: a write that failed or timed out is not sent again (it may have landed).
    e.sending = 0;
    if (r instanceof Error || r === undefined || r === null) {
      // Counted as a failure by the decisions it leaves to the insurance limiter.
      if (whole === null) host.lastError = r ?? null;
      e.state = DOWN;
      if (whole === null) host.retry(e);
    } else {
      e.count = r.count;
      e.resetAt = r.ttlMs < 0 ? Number.POSITIVE_INFINITY : now + r.ttlMs;
      e.state = KNOWN;
    }
    wake(e);
  }
  for (let j = 0; j < exact.length; j++) {
    const r = results[entries.length + j];
    for (const q of exact[j]!) {
      if (r instanceof Error || r === undefined) {
        if (whole === null) host.lastError = r ?? null;
        q.resolve(host.fallbackOp(q.limit, q.op));
      } else q.resolve(r);
    }
  }
}

/** While the store is down: one ping; the queue is answered by the insurance limiter meanwhile. */
async function probe(host: FlushHost, entries: Entry[], queued: Queued[]): Promise<void> {
  for (const q of queued) q.resolve(host.fallbackOp(q.limit, q.op));
  let up = false;
  try {
    host.calls++;
    await withTimeout(host.backend.batch([]), host.timeoutMs, storeTimedOut);
    up = true;
  } catch (error) {
    host.lastError = error;
  }
  if (up) host.down = false;
  for (const e of entries) {
    e.queued = false;
    // Read by the next flush, now that the store answers (entries waiting or unknown, or failed).
    if (up && (e.state !== KNOWN || e.pending > 0)) host.retry(e);
    else if (!up) host.retry(e);
    wake(e);
  }
}

function wake(e: Entry): void {
  const waiters = e.waiters;
  if (!waiters) return;
  e.waiters = null;
  for (const w of waiters) w();
}
