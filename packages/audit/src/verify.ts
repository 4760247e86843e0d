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
import type { SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { createHash, type Hash } from 'node:crypto';
import { eventProblem, genesisHash, type AuditEvent } from './event.js';

export { eventProblem } from './event.js';
import { addDays, HELD_RELEASE_ACTION, heldDays, heldDayValid, readHorizon } from './partitions.js';
import {
  ERASURE_ACTION,
  erasureRecords,
  eventsPage,
  heldEvents,
  heldReleased,
  linkOf,
  listCheckpoints,
  securityRecords,
  type Checkpoint,
} from './store.js';
import { readTreeHead } from './tree.js';
import { checkTree, type HeadOpener, type TreeCheck, type TreeProblem, type TreeProblemReason } from './tree-verify.js';
import { checkpointValid } from './writer.js';

/** The horizon the latest signed tree head names (public keys alone), trusted as signed. */
async function signedHorizon(db: Database, open: HeadOpener): Promise<{ day: string; valid: boolean } | null> {
  const head = await readTreeHead(db);
  if (!head?.note) return null;
  try {
    const day = open(head.note)
      .extensions.find((l) => l.startsWith('horizon '))
      ?.slice(8);
    return day ? { day, valid: true } : null;
  } catch {
    return null; // checkTree reports the head
  }
}

export type ProblemReason =
  | 'modified'
  | 'missing'
  | 'reordered'
  | 'checkpoint-missing'
  | 'checkpoint-mismatch'
  | 'segment-missing'
  | 'erasure-unrecorded'
  | 'horizon-mismatch'
  | 'held-missing'
  | 'held-mismatch'
  | 'held-unsigned'
  | 'held-release-unrecorded'
  | TreeProblemReason;

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
  /** Gaps the writers declared (`audit.gap`): access events dropped while the spill directory was full. Not tampering. */
  gaps: { writer: string; day: string; id: string; count: number; from: string; to: string }[];
  /** Checkpoints in the range, and how many verify under the keys given (none: probably the wrong keys). */
  checkpoints: { total: number; valid: number };
  /** Erasure records in the range, and those whose events still hold their personal fields (an erasure interrupted before its update: run it again). */
  erasures: { recorded: number; incomplete: string[] };
  /**
   * Where the chains were anchored: `genesis` (nothing purged, or a range was given), or the
   * retention horizon, with each writer's checkpoint before it that its chain resumes from.
   */
  anchor: {
    kind: 'genesis' | 'range' | 'horizon';
    horizon: string | null;
    writers: { writer: string; day: string; count: number }[];
  };
  /**
   * Copies of held subjects' events kept past their day (each checked against its own hash), the
   * dropped days' records they are checked against, and the copies released since (their ids and hashes).
   */
  held: { events: number; days: number; released: number };
  /**
   * The Merkle tree checked against its latest signed head (issue 33), when verifier keys were
   * given: the head's size, key and horizon, the leaves recomputed from events and those taken
   * from kept hashes, and the witness's size and whether the tree extends it. Null otherwise.
   */
  tree: TreeCheck | null;
}

export interface VerifyOptions {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  /** First UTC day (YYYY-MM-DD), inclusive. */
  from?: string | undefined;
  /** Last UTC day, inclusive. */
  to?: string | undefined;
  pageSize?: number | undefined;
  /**
   * Opens a signed tree head under the public keys given (note.ts `headOpener`): the Merkle tree is
   * then checked against its latest signed head. With no `checkpointKeys` (an empty list), verify
   * runs on public keys alone: the checks that need the HMAC key (segment checkpoints, the horizon's
   * and the held days' signatures) are left to the tree, and the horizon is the signed head's.
   */
  openHead?: HeadOpener | undefined;
  /** A signed head a witness kept (C2SP note, as served): the tree must extend it (needs `openHead`). */
  witness?: string | undefined;
}

interface Segment {
  writer: string;
  day: string;
  count: number;
  last: AuditEvent | null;
  failed: boolean;
  /** Hash -> seq of this segment's events, for naming a reorder. */
  seen: Map<string, number>;
}

const segmentKey = (writer: string, day: string) => `${writer}\u0000${day}`;

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
  // Days before a valid horizon were purged on purpose: start there, anchored at each writer's last checkpoint before it.
  const horizon = hmac ? await readHorizon(db, checkpointKeys) : await signedHorizon(db, options.openHead!);
  if (horizon && !horizon.valid) {
    result.problems.push({
      writer: '',
      day: horizon.day,
      reason: 'horizon-mismatch',
      seq: null,
      id: null,
      detail: 'the retention horizon is not signed by any key given: days before it may have been deleted by hand',
    });
  }
  const anchored = Boolean(horizon?.valid && (!options.from || options.from <= horizon.day));
  const from = anchored ? horizon!.day : options.from;
  const anchors = new Map<string, Checkpoint>();
  if (anchored) {
    result.anchor = { kind: 'horizon', horizon: horizon!.day, writers: [] };
    for (const c of hmac ? await listCheckpoints(db, undefined, addDays(horizon!.day, -1)) : []) {
      if (!checkpointValid(checkpointKeys, c)) continue;
      const seen = anchors.get(c.writer);
      if (!seen || seen.day < c.day) anchors.set(c.writer, c);
    }
    result.anchor.writers = [...anchors.values()]
      .map((c) => ({ writer: c.writer, day: c.day, count: c.count }))
      .sort((a, b) => a.writer.localeCompare(b.writer));
  }
  /** Per erasure id: what the erased events carrying it add up to, in id order. */
  const erased = new Map<string, { count: number; first: AuditEvent; last: string; digest: Hash; sep: string }>();
  const records = new Map<string, AuditEvent>();
  const marks = new Map((await listCheckpoints(db, from, to)).map((c) => [segmentKey(c.writer, c.day), c]));
  result.checkpoints.total = marks.size;
  if (hmac) for (const c of marks.values()) if (checkpointValid(checkpointKeys, c)) result.checkpoints.valid++;
  const segments = new Map<string, Segment>();
  /** Per writer: its current segment, and what the next segment's first event must link to. */
  const writers = new Map<string, { current: Segment; nextLink: string | null }>();

  const problem = (s: Segment, reason: ProblemReason, detail: string, e?: { seq: number; id: string | null }) => {
    s.failed = true;
    result.problems.push({ writer: s.writer, day: s.day, reason, seq: e?.seq ?? null, id: e?.id ?? null, detail });
  };
  /** An erasure problem: reported, but the chain checks of the segment go on. */
  const report = (e: AuditEvent, detail: string) => {
    result.problems.push({ writer: e.writer, day: e.day, reason: 'erasure-unrecorded', seq: e.seq, id: e.id, detail });
  };
  /** Does the verified range hold every event from `first` to `last` (ids carry their time)? */
  const covers = (first: string, last: string) =>
    (!from || utcDayOfId(first) >= from) && (!to || utcDayOfId(last) <= to);
  async function checkErasures(): Promise<void> {
    const outside = [...erased.keys()].filter((id) => !records.has(id));
    for (const r of await erasureRecords(db, outside)) records.set((r.details as { erasureId: string }).erasureId, r);
    for (const [id, t] of erased) {
      const record = records.get(id);
      const stated = record?.details as
        { count?: unknown; firstId?: unknown; lastId?: unknown; idsSha256?: unknown } | null | undefined;
      if (!record || !stated) {
        report(t.first, 'its erasure id names no erasure record');
        continue;
      }
      if (
        record.personalSalt === null ||
        eventProblem(record, record.chainVersion === 3 ? await linkOf(db, record) : undefined)
      ) {
        report(t.first, 'its erasure record does not verify');
        continue;
      }
      const firstId = String(stated.firstId);
      const lastId = String(stated.lastId);
      if (t.first.id < firstId || t.last > lastId || t.count > Number(stated.count))
        report(t.first, 'outside the range its erasure record states');
      else if (
        covers(firstId, lastId) &&
        (t.count !== stated.count ||
          t.first.id !== firstId ||
          t.last !== lastId ||
          t.digest.digest('hex') !== stated.idsSha256)
      ) {
        report(t.first, 'the erased events do not match their erasure record (count, range or digest)');
      }
    }
    for (const [id, record] of records) {
      if (erased.has(id)) continue;
      const stated = record.details as { firstId?: unknown; lastId?: unknown; count?: unknown } | null;
      if (stated && Number(stated.count) > 0 && covers(String(stated.firstId), String(stated.lastId)))
        result.erasures.incomplete.push(id);
    }
    result.erasures.recorded = records.size;
  }

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
      if (e.personalSalt === null && e.erasedAt !== null) {
        if (e.erasedBy === null) report(e, 'no erasure record names this event');
        else {
          let t = erased.get(e.erasedBy);
          if (!t)
            erased.set(e.erasedBy, (t = { count: 0, first: e, last: e.id, digest: createHash('sha256'), sep: '' }));
          t.digest.update(t.sep + e.id);
          t.sep = '\n';
          t.count++;
          t.last = e.id;
        }
      }
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
      if (e.action === ERASURE_ACTION && e.kind === 'security') {
        const id = (e.details as { erasureId?: unknown } | null)?.erasureId;
        if (typeof id === 'string') records.set(id, e);
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
  await checkErasures();
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

/**
 * Held copies (issue 30 item 1): each against its own hash, and each dropped day's copies (those
 * since released counted by the id and hash they left) against the record written when the day
 * was dropped, signed with the checkpoint key: a copy deleted, added or rewritten (hash included)
 * is reported. A released copy must be covered by a chained release record while that record's day
 * is still kept (before the horizon it went with its day).
 */
async function checkHeld(
  db: Database,
  keys: readonly SigningKey[],
  pageSize: number,
  horizon: string | null,
  result: VerifyResult,
): Promise<void> {
  const held = (
    reason: ProblemReason,
    day: string,
    detail: string,
    e?: { id: string; seq: number | null; writer: string },
  ) => result.problems.push({ writer: e?.writer ?? '', day, reason, seq: e?.seq ?? null, id: e?.id ?? null, detail });
  const days = new Map<string, { count: number; digest: Hash; sep: string }>();
  const add = (day: string, id: string, hash: string) => {
    let d = days.get(day);
    if (!d) days.set(day, (d = { count: 0, digest: createHash('sha256'), sep: '' }));
    d.digest.update(`${d.sep}${id} ${hash}`);
    d.sep = '\n';
    d.count++;
  };
  /** Per release id: how many copies it took, and the newest time one went. */
  const releases = new Map<string, { count: number; last: Date; day: string }>();
  // Two id-ordered streams merged, so each day's lines come in id order, as the record's were.
  const copies = heldEvents(db, pageSize)[Symbol.asyncIterator]();
  const gone = heldReleased(db, pageSize)[Symbol.asyncIterator]();
  let c = await copies.next();
  let g = await gone.next();
  while (!c.done || !g.done) {
    if (!c.done && (g.done || c.value.id < g.value.id)) {
      const e = c.value;
      result.held.events++;
      const own = eventProblem(e);
      if (own) held('modified', e.day, `held copy: ${own}`, e);
      add(e.day, e.id, e.hash ?? '');
      c = await copies.next();
    } else {
      const r = g.value;
      result.held.released++;
      add(r.day, r.id, r.hash);
      const t = releases.get(r.releaseId);
      if (!t) releases.set(r.releaseId, { count: 1, last: r.releasedAt, day: r.day });
      else {
        t.count++;
        if (r.releasedAt > t.last) t.last = r.releasedAt;
      }
      g = await gone.next();
    }
  }
  const records = await heldDays(db);
  result.held.days = records.length;
  for (const r of records) {
    const found = days.get(r.day) ?? { count: 0, digest: createHash('sha256'), sep: '' };
    days.delete(r.day);
    if (!keys.length) {
      // Public keys alone: the record's signature cannot be checked; the copies still are, against it.
    } else if (r.mac === null)
      held(
        'held-unsigned',
        r.day,
        "the record of this day's held copies is not signed: the day was dropped outside a retention run of this version (or its signature was removed); the next run signs it if its copies still match",
      );
    else if (!heldDayValid(keys, r))
      held('held-mismatch', r.day, "the record of this day's held copies is not signed by any key given");
    if (found.count < r.count)
      held(
        'held-missing',
        r.day,
        `the record counts ${r.count} held copies; ${found.count} are here (held or released)`,
      );
    else if (found.count > r.count || found.digest.digest('hex') !== r.idsSha256)
      held(
        'held-mismatch',
        r.day,
        `the held copies do not match their record (${found.count} here, ${r.count} recorded; ids or hashes differ)`,
      );
  }
  for (const [day, d] of days) held('held-mismatch', day, `${d.count} held copies of a day that has no record`);
  const stated = new Map(
    (await securityRecords(db, HELD_RELEASE_ACTION, 'releaseId', [...releases.keys()])).map((e) => [
      String((e.details as { releaseId?: unknown }).releaseId),
      e,
    ]),
  );
  for (const [id, t] of releases) {
    const record = stated.get(id);
    if (!record) {
      // Its record went with its day (past the horizon); otherwise copies went with no release on record.
      if (!horizon || t.last.toISOString().slice(0, 10) >= horizon)
        held(
          'held-release-unrecorded',
          t.day,
          `${t.count} held copies went under release ${id}, which no chained audit.held.released event records`,
        );
      continue;
    }
    const details = record.details as { count?: unknown } | null;
    if (
      record.personalSalt === null ||
      eventProblem(record, record.chainVersion === 3 ? await linkOf(db, record) : undefined)
    )
      held('held-release-unrecorded', t.day, `the record of release ${id} does not verify`);
    else if (t.count > Number(details?.count))
      held(
        'held-release-unrecorded',
        t.day,
        `${t.count} held copies went under release ${id}, which states ${String(details?.count)}`,
      );
  }
}

/** The UTC day of a UUIDv7's millisecond. */
function utcDayOfId(id: string): string {
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toISOString().slice(0, 10);
}

function checkSegmentEnd(
  s: Segment,
  c: Checkpoint | undefined,
  keys: readonly SigningKey[],
  problem: (s: Segment, reason: ProblemReason, detail: string, e?: { seq: number; id: string | null }) => void,
): void {
  if (!c) problem(s, 'checkpoint-missing', 'the segment has no checkpoint');
  else if (!checkpointValid(keys, c))
    problem(s, 'checkpoint-mismatch', 'the checkpoint signature is not valid under any key');
  else if (c.count > s.count)
    problem(s, 'missing', `the checkpoint counts ${c.count} events; ${s.count} are here`, { seq: s.count, id: null });
  else if (c.count < s.count)
    problem(s, 'checkpoint-mismatch', `${s.count - c.count} event(s) after the signed end of the segment`, {
      seq: c.count,
      id: null,
    });
  else if (s.last && c.lastHash !== s.last.hash)
    problem(s, 'checkpoint-mismatch', 'the segment was rewritten: its last hash is not the signed one', s.last);
}
