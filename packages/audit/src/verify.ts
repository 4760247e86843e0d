/**
 * Verification of the hash chains: one pass over the events of a range of UTC days in id order
 * (which is each writer's chain order), checking every event against its own hash and its link,
 * and every segment (writer, day) against its signed checkpoint. The first problem of each segment
 * is reported with the event it concerns and why:
 *
 * - `modified`: an event's fields no longer match its hash, or its personal fields their digest;
 * - `missing`: an event is gone from the middle (a gap in seq) or from the end (the checkpoint
 *   counts more events than there are);
 * - `reordered`: an event sits elsewhere in its chain than its seq and link say;
 * - `checkpoint-missing` / `checkpoint-mismatch`: the segment has no checkpoint, its HMAC is
 *   wrong, or it names another last hash or count (a rewritten segment);
 * - `segment-missing`: a segment links to a predecessor that is not there;
 * - `erasure-unrecorded`: an event's personal fields were erased, but no chained erasure record
 *   (`audit.subject.erased`) covers it: its erasure id names no record, or the record's count,
 *   id range or SHA-256 over the sorted ids does not match the events that carry its id;
 * - `horizon-mismatch`: the retention horizon's signature is not valid (someone moved it);
 * - `held-missing` / `held-mismatch` / `held-unsigned`: a dropped day's held copies do not add up
 *   to the signed record written when the day was dropped (fewer; other ids or hashes, or copies
 *   of a day with no record; the record unsigned or signed by no key given);
 * - `held-release-unrecorded`: held copies went under a release that no chained
 *   `audit.held.released` event records.
 *
 * Retention drops whole days (partitions.ts) and moves a signed horizon past them. Verification
 * then starts at the horizon: each writer's first remaining event must link to that writer's last
 * checkpoint before the horizon (its anchor, kept by the purge), or to its genesis when it began
 * after. A purge never reads as tampering; a day deleted by hand inside the kept range still does
 * (its checkpoint counts events that are gone, or the next day links to a segment that is not
 * there). Copies of held subjects' events (`audit.held_events`) are checked against their own hash.
 *
 * A format-3 row keeps its link (`prev_hash`) only when it is its segment's first event: the hash
 * of every other one is recomputed with the hash of the row before it, so a changed field and a
 * broken link read alike (`modified`, or `missing` when its seq says an event is gone).
 */
import type { Database } from '@harakaflow/db';
import { eventProblem, genesisHash } from './event.js';
import { eventsPage, listCheckpoints, type Checkpoint } from './store.js';
import { checkTree, type TreeProblem } from './tree-verify.js';
import { chainStart, checkSegmentEnd, segmentKey, type Segment, type SegmentProblem } from './verify-checkpoints.js';
import { ErasureCheck } from './verify-erasures.js';
import { checkHeld } from './verify-held.js';
import type { VerifyOptions, VerifyResult } from './verify-result.js';
import { checkpointValid } from './writer.js';

export { eventProblem } from './event.js';
export type { ChainProblem, ProblemReason, VerifyOptions, VerifyResult } from './verify-result.js';

/**
 * Verifies in one snapshot (a read-only, repeatable-read transaction): the checkpoints, the events
 * and the held copies as of one instant. Read in separate statements, a batch a live writer
 * committed between the checkpoints and the events it extends read as events after the signed end
 * of their segment: tampering reported where there is none. (On PGlite the app's queries wait for
 * the transaction: it has one connection.)
 */
export async function verifyChain(options: VerifyOptions): Promise<VerifyResult> {
  return options.db.transaction((tx) => verifyInSnapshot({ ...options, db: tx as unknown as Database }), {
    isolationLevel: 'repeatable read',
    accessMode: 'read only',
  });
}

async function verifyInSnapshot(options: VerifyOptions): Promise<VerifyResult> {
  const { db, checkpointKeys, to } = options;
  const pageSize = options.pageSize ?? 5000;
  const result: VerifyResult = {
    ok: true,
    segments: 0,
    events: 0,
    problems: [],
    gaps: [],
    checkpoints: { total: 0, valid: 0 },
    erasures: { recorded: 0, incomplete: [] },
    anchor: { kind: options.from ? 'range' : 'genesis', horizon: null, writers: [] },
    held: { events: 0, days: 0, released: 0 },
    tree: null,
  };
  // Public keys alone: no HMAC check; the signed tree head covers the segments and names the horizon.
  const hmac = checkpointKeys.length > 0;
  if (!hmac && !options.openHead)
    throw new TypeError('verify needs checkpoint keys, or public keys (openHead), or both');
  const { horizon, anchored, from, anchors } = await chainStart(options, hmac, result);
  const erasures = new ErasureCheck(db, from, to, result);
  const marks = new Map((await listCheckpoints(db, from, to)).map((c) => [segmentKey(c.writer, c.day), c]));
  result.checkpoints.total = marks.size;
  if (hmac) for (const c of marks.values()) if (checkpointValid(checkpointKeys, c)) result.checkpoints.valid++;
  const segments = new Map<string, Segment>();
  /** Per writer: its current segment, and what the next segment's first event must link to. */
  const writers = new Map<string, { current: Segment; nextLink: string | null }>();

  const problem: SegmentProblem = (s, reason, detail, e) => {
    s.failed = true;
    result.problems.push({ writer: s.writer, day: s.day, reason, seq: e?.seq ?? null, id: e?.id ?? null, detail });
  };

  const close = (s: Segment) => {
    // Without the HMAC key the checkpoints prove nothing: the signed tree covers each segment's events.
    if (s.failed || !hmac) return;
    const c = marks.get(segmentKey(s.writer, s.day));
    checkSegmentEnd(s, c, checkpointKeys, problem);
  };

  for (let afterId: string | null = null; ;) {
    const page = await eventsPage(db, afterId, pageSize, from, to);
    if (!page.length) break;
    for (const e of page) {
      result.events++;
      let w = writers.get(e.writer);
      if (!w || w.current.day !== e.day) {
        // On public keys alone an anchor cannot be trusted: a writer's first kept link is left to the tree.
        const first = anchored
          ? hmac
            ? (anchors.get(e.writer)?.lastHash ?? genesisHash(e.writer))
            : null
          : from
            ? null
            : genesisHash(e.writer);
        const link = w
          ? (marks.get(segmentKey(w.current.writer, w.current.day))?.lastHash ?? w.current.last?.hash ?? null)
          : first;
        if (w) close(w.current);
        const key = segmentKey(e.writer, e.day);
        if (segments.has(key)) {
          // The writer came back to a day it had left: an event moved between segments.
          const s = segments.get(key)!;
          if (!s.failed) problem(s, 'reordered', 'an event of this segment sits after a later segment', e);
          w!.current = s;
          continue;
        }
        const s: Segment = { writer: e.writer, day: e.day, count: 0, last: null, failed: false, seen: new Map() };
        segments.set(key, s);
        w = { current: s, nextLink: link };
        writers.set(e.writer, w);
      }
      const s = w.current;
      // Erasure bookkeeping does not depend on the chain: it runs for every event.
      erasures.add(e);
      if (e.action === 'audit.gap' && e.kind === 'security' && e.details) {
        const d = e.details as { count?: unknown; from?: unknown; to?: unknown };
        result.gaps.push({
          writer: e.writer,
          day: e.day,
          id: e.id,
          count: Number(d.count),
          from: String(d.from),
          to: String(d.to),
        });
      }
      if (s.failed) continue;
      const expected = s.last ? s.last.hash : w.nextLink;
      if (e.chainVersion === 3 && !e.prevHash) {
        // Format 3 past a segment's first event: the link is the row before it.
        if (e.seq !== s.count) {
          if (e.seq > s.count)
            problem(s, 'missing', `seq ${s.count} to ${e.seq - 1} missing`, { seq: s.count, id: null });
          else problem(s, 'reordered', `seq ${e.seq} found where seq ${s.count} belongs`, e);
          continue;
        }
        const own = eventProblem(e, expected);
        if (own) {
          problem(s, 'modified', own, e);
          continue;
        }
        if (s.seen.size < 100_000) s.seen.set(e.hash, e.seq);
        s.last = e;
        s.count++;
        continue;
      }
      const own = eventProblem(e);
      if (own) {
        problem(s, 'modified', own, e);
        continue;
      }
      if (e.seq !== s.count) {
        if (e.seq > s.count && (expected === null || e.prevHash !== expected))
          problem(s, 'missing', `seq ${s.count} to ${e.seq - 1} missing`, { seq: s.count, id: null });
        else problem(s, 'reordered', `seq ${e.seq} found where seq ${s.count} belongs`, e);
        continue;
      }
      if (expected !== null && e.prevHash !== expected) {
        if (s.seen.has(e.prevHash))
          problem(s, 'reordered', `links to seq ${s.seen.get(e.prevHash)}, not to the event before it`, e);
        else if (!s.last) problem(s, 'segment-missing', 'the first event links to a segment that is not there', e);
        else problem(s, 'modified', 'does not link to the event before it', e);
        continue;
      }
      if (s.seen.size < 100_000) s.seen.set(e.hash, e.seq);
      s.last = e;
      s.count++;
    }
    afterId = page[page.length - 1]!.id;
  }
  for (const w of writers.values()) close(w.current);
  await erasures.check();
  // Checkpoints whose segment has no event left at all.
  for (const [key, c] of hmac ? marks : new Map<string, Checkpoint>()) {
    if (segments.has(key)) continue;
    const s: Segment = { writer: c.writer, day: c.day, count: 0, last: null, failed: false, seen: new Map() };
    segments.set(key, s);
    checkSegmentEnd(s, c, checkpointKeys, problem);
  }
  await checkHeld(db, checkpointKeys, pageSize, horizon?.valid ? horizon.day : null, result);
  if (options.openHead) {
    const found: TreeProblem[] = [];
    result.tree = await checkTree(db, options.openHead, options.witness ?? null, found);
    for (const p of found)
      result.problems.push({ writer: p.writer, day: p.day, reason: p.reason, seq: p.seq, id: null, detail: p.detail });
  }
  result.segments = segments.size;
  result.problems.sort((a, b) =>
    a.writer === b.writer ? a.day.localeCompare(b.day) : a.writer.localeCompare(b.writer),
  );
  result.ok = result.problems.length === 0;
  return result;
}
