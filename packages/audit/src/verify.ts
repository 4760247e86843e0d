/**
 * Verification of the hash chains: every segment (writer, UTC day) in a range is read in chain
 * order and checked against its own hashes, its links and its signed checkpoint. The first
 * problem of each segment is reported with the event it concerns and why:
 *
 * - `modified`: an event's fields no longer match its hash, or its personal fields their digest;
 * - `missing`: an event is gone from the middle (a gap in seq) or from the end (the checkpoint
 *   counts more events than there are);
 * - `reordered`: an event links to an event other than the one before it;
 * - `checkpoint-missing` / `checkpoint-mismatch`: the segment has no checkpoint, its HMAC is
 *   wrong, or it names another last hash or count (a rewritten segment);
 * - `segment-missing`: a segment links to a predecessor the range does not contain.
 */
import type { SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { eventHash, genesisHash, personalDigest, type AuditEvent } from './event.js';
import { listSegments, readCheckpoint, segmentPage } from './store.js';
import { checkpointValid } from './writer.js';

export type ProblemReason = 'modified' | 'missing' | 'reordered' | 'checkpoint-missing' | 'checkpoint-mismatch' | 'segment-missing';

export interface ChainProblem {
  writer: string;
  day: string;
  reason: ProblemReason;
  /** The event concerned, when there is one (for `missing`, the seq that should be there). */
  seq: number | null;
  id: string | null;
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  segments: number;
  events: number;
  problems: ChainProblem[];
}

export interface VerifyOptions {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  /** First UTC day (YYYY-MM-DD), inclusive. */
  from?: string | undefined;
  /** Last UTC day, inclusive. */
  to?: string | undefined;
  pageSize?: number | undefined;
}

/** Checks an event on its own: its hash, and its personal fields against their digest. */
export function eventProblem(e: AuditEvent): string | null {
  if (e.personalSalt !== null) {
    if (personalDigest(e.personalSalt, e.subjectId, e.ip, e.userAgent) !== e.personalDigest) return 'personal fields do not match their digest';
  } else if (e.erasedAt === null || e.subjectId !== null || e.ip !== null || e.userAgent !== null) {
    return 'salt removed without an erasure';
  }
  if (eventHash(e) !== e.hash) return 'fields do not match the event hash';
  return null;
}

export async function verifyChain(options: VerifyOptions): Promise<VerifyResult> {
  const { db, checkpointKeys } = options;
  const pageSize = options.pageSize ?? 5000;
  const result: VerifyResult = { ok: true, segments: 0, events: 0, problems: [] };
  const segments = await listSegments(db, options.from, options.to);
  let writer: string | null = null;
  let previousLast: string | null = null;

  for (const segment of segments) {
    if (segment.writer !== writer) {
      writer = segment.writer;
      // Without --from, a writer's first segment must start at its genesis; with it (or after
      // retention dropped older days) the first segment's link is taken as the anchor.
      previousLast = options.from ? null : genesisHash(writer);
    }
    result.segments++;
    const problem = (reason: ProblemReason, detail: string, e?: { seq: number; id: string | null }) =>
      result.problems.push({ writer: segment.writer, day: segment.day, reason, seq: e?.seq ?? null, id: e?.id ?? null, detail });

    const checkpoint = await readCheckpoint(db, segment.writer, segment.day);
    let count = 0;
    let last: AuditEvent | null = null;
    let failed = false;
    let window = new Map<string, number>();
    for (let afterSeq = -1; !failed; ) {
      const page = await segmentPage(db, segment.writer, segment.day, afterSeq, pageSize);
      if (!page.length) break;
      const seen = new Map<string, number>(window);
      for (const e of page) seen.set(e.hash, e.seq);
      for (const e of page) {
        result.events++;
        const own = eventProblem(e);
        if (own) {
          problem('modified', own, e);
          failed = true;
          break;
        }
        const expected = last ? last.hash : previousLast;
        if (expected !== null && e.prevHash !== expected) {
          if (e.seq !== count) problem('missing', `seq ${count} to ${e.seq - 1} missing`, { seq: count, id: null });
          else if (seen.has(e.prevHash)) problem('reordered', `links to seq ${seen.get(e.prevHash)}, not to the event before it`, e);
          else if (!last && count === 0) problem('segment-missing', 'the first event links to a segment that is not there', e);
          else problem('modified', 'does not link to the event before it', e);
          failed = true;
          break;
        }
        if (e.seq !== count) {
          problem('missing', `seq ${count} to ${e.seq - 1} missing`, { seq: count, id: null });
          failed = true;
          break;
        }
        last = e;
        count++;
      }
      afterSeq = page[page.length - 1]!.seq;
      window = new Map([...seen].slice(-pageSize));
    }
    if (failed) {
      previousLast = checkpoint?.lastHash ?? null;
      continue;
    }
    if (!checkpoint) problem('checkpoint-missing', 'the segment has no checkpoint');
    else if (!checkpointValid(checkpointKeys, checkpoint)) problem('checkpoint-mismatch', 'the checkpoint signature is not valid under any key');
    else if (checkpoint.count > count) problem('missing', `the checkpoint counts ${checkpoint.count} events; ${count} are here`, { seq: count, id: null });
    else if (checkpoint.count < count) problem('checkpoint-mismatch', `${count - checkpoint.count} event(s) after the signed end of the segment`, { seq: checkpoint.count, id: null });
    else if (last && checkpoint.lastHash !== last.hash) problem('checkpoint-mismatch', 'the segment was rewritten: its last hash is not the signed one', last);
    previousLast = checkpoint?.lastHash ?? last?.hash ?? previousLast;
  }
  result.ok = result.problems.length === 0;
  return result;
}
