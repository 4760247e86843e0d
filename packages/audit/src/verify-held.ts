/**
 * The chain check's held copies: each against its own hash, each dropped day's against its signed record, releases
 * against theirs.
 */
import type { SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { createHash, type Hash } from 'node:crypto';
import { eventProblem } from './event.js';
import { HELD_RELEASE_ACTION, heldDays, heldDayValid } from './partitions.js';
import { heldEvents, heldReleased, linkOf, securityRecords } from './store.js';
import type { ProblemReason, VerifyResult } from './verify-result.js';

/**
 * Held copies (issue 30 item 1): each against its own hash, and each dropped day's copies (those
 * since released counted by the id and hash they left) against the record written when the day
 * was dropped, signed with the checkpoint key: a copy deleted, added or rewritten (hash included)
 * is reported. A released copy must be covered by a chained release record while that record's day
 * is still kept (before the horizon it went with its day).
 */
export async function checkHeld(
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
