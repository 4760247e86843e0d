/**
 * Replay of spill files (the writer's recovery once the database answers again). A file is trusted
 * only when its MAC verifies, every hash and link recomputes, and its first item follows an event
 * that is stored or was replayed just before; a file that fails is moved to `rejected/`, logged and
 * audited once, and never blocks other writes. Replayed batches go through the writer's batch
 * writer, so an event whose subject was erased while it waited in the file is inserted erased
 * (tombstones.ts, issue 30 item 5).
 */
import { errorCodes, withTimeout } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { chainProblem } from './chain.js';
import { SPILL_REJECTED } from './errors.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import type { SpillFiles } from './spill-files.js';
import type { ChainPosition, Item } from './spill.js';
import { storedHashes } from './store.js';

export interface ReplayContext {
  files: SpillFiles;
  db: Database;
  /**
   * A database read that takes longer fails the replay (tried again later): a replay never waits on a lost connection.
   */
  timeoutMs: number;
  logger: { error(obj: object, msg: string): void };
  batchSize: number;
  /** Writes a batch of replayed items (the writer's batch writer). */
  write(items: readonly Item[]): Promise<void>;
  /** Records a security event in the chain (a rejected file); never throws. */
  record(input: AuditEventInput): void;
  stats: { replayed: number; rejected: number };
}

/** How a spill file's replay ended. */
type Replayed = 'done' | 'gone' | { defer: string } | { reject: string };

/**
 * Replays every spill file in the directory (this run's and earlier runs', any writer's), in
 * name order, each only once it can be linked: a file whose predecessor is in a later file waits
 * for it within the same pass. What cannot be trusted or linked is moved to `rejected/`.
 */
export async function replaySpill(ctx: ReplayContext): Promise<void> {
  const files = ctx.files;
  let pending: string[];
  try {
    pending = await files.list();
  } catch (error) {
    ctx.logger.error({ err: errorCodes(error) }, 'audit: the spill directory cannot be used; nothing replayed');
    return;
  }
  /** Per writer: the last event replayed in this pass. */
  const tails = new Map<string, ChainPosition>();
  const deferred = new Map<string, string>();
  let progress = true;
  while (pending.length && progress) {
    progress = false;
    const next: string[] = [];
    for (const name of pending) {
      const outcome = await replayFile(ctx, name, tails);
      if (typeof outcome === 'object' && 'defer' in outcome) {
        next.push(name);
        deferred.set(name, outcome.defer);
        continue;
      }
      progress = true;
      if (typeof outcome === 'object') await reject(ctx, name, outcome.reject);
    }
    pending = next;
  }
  for (const name of pending) await reject(ctx, name, deferred.get(name) ?? 'cannot be linked');
}

/** One file: verified whole before anything of it is inserted or signed. Database errors throw (retried later). */
async function replayFile(ctx: ReplayContext, name: string, tails: Map<string, ChainPosition>): Promise<Replayed> {
  const files = ctx.files;
  const read = await files.read(name);
  if (read === 'gone') return 'gone'; // another replica replayed it
  if ('reject' in read) return read;
  const { file, size } = read;
  const events = file.items.filter((i): i is AuditEvent => !('close' in i));
  // What of the file is stored already (a write that committed after it timed out): the same
  // events with the same hashes, or the file is not what was written.
  const stored = await timed(
    ctx,
    storedHashes(
      ctx.db,
      events.map((e) => e.id),
    ),
  );
  let start = 0;
  let position = file.after;
  for (const item of file.items) {
    if ('close' in item || !stored.has(item.id)) break;
    if (stored.get(item.id) !== item.hash) return { reject: 'an event of the file is stored with another hash' };
    position = { id: item.id, hash: item.hash, day: item.day, seq: item.seq };
    start++;
  }
  if (events.some((e, i) => i >= start && stored.has(e.id) && stored.get(e.id) !== e.hash))
    return { reject: 'an event of the file is stored with another hash' };
  // The anchor: the file's first item follows an event that is stored, or that the file replayed
  // just before ended with, or (no predecessor) the writer's genesis.
  if (start === 0 && file.after) {
    const tail = tails.get(file.writer);
    const linked =
      (tail && tail.id === file.after.id && tail.hash === file.after.hash) ||
      (await timed(ctx, storedHashes(ctx.db, [file.after.id]))).get(file.after.id) === file.after.hash;
    if (!linked) return { defer: 'does not link onto the stored chain: the event it follows is not stored' };
  }
  const problem = chainProblem(file, start, position);
  if (problem) return { reject: problem };
  const rest = file.items.slice(start);
  for (let i = 0; i < rest.length; i += ctx.batchSize) await ctx.write(rest.slice(i, i + ctx.batchSize));
  await files.remove(name, size);
  const last = events.at(-1);
  if (last) tails.set(file.writer, { id: last.id, hash: last.hash, day: last.day, seq: last.seq });
  ctx.stats.replayed += rest.filter((i) => !('close' in i)).length;
  return 'done';
}

const timed = <T>(ctx: ReplayContext, read: Promise<T>) =>
  withTimeout(read, ctx.timeoutMs, () =>
    Object.assign(new Error('audit replay read timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' }),
  );

/** Moves a file aside, logs it and records it in the chain (once: the file is gone from the directory). */
async function reject(ctx: ReplayContext, name: string, reason: string): Promise<void> {
  if (!(await ctx.files.reject(name))) return; // another replica dealt with it
  ctx.stats.rejected++;
  ctx.logger.error({ code: SPILL_REJECTED, file: name, reason }, 'audit: spill file rejected and moved to rejected/');
  ctx.record({
    kind: 'security',
    action: 'audit.spill.rejected',
    outcome: 'failure',
    resource: `spill-file:${name}`,
    details: { code: SPILL_REJECTED, file: name, reason },
  });
}
