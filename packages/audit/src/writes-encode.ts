/** A format-3 batch in the binary COPY format (writes.ts sends it; pgcopy.ts is the encoder). */
import type { Event3 } from './format3.js';
import type { CopyEncoder } from './pgcopy.js';
import { type ErasePlan } from './tombstones.js';
import {
  type BatchIds,
  DAY_MS,
  impliedAccess,
  forgetLastAgent,
  idsOf,
  type Refs,
  unixDay,
  V3_COLUMNS,
  V3_ERASING_COLUMNS,
} from './writes-rows.js';

/** An event's id, salt and hash on their way into the COPY buffer (copied there at once), and views of each. */
const scratch = Buffer.alloc(64);
const idView = scratch.subarray(0, 16);
const saltView = scratch.subarray(16, 32);
const hashView = scratch.subarray(32, 64);
const digestView = Buffer.alloc(32);

/**
 * Encodes format-3 rows as one binary COPY (the encoder is reused: `finish()` is valid until its
 * next use). With `plan`, the rows carry the erasure columns too (V3_ERASING_LIST) and the events
 * it names go in erased: subject, IP, user agent, path, resource, details and salt NULL, the
 * digest stored, `erased_at` and `erased_by` set (and no reference to their user agent counted).
 */
export function encodeCopy(
  encoder: CopyEncoder,
  rows: readonly Event3[],
  interned: BatchIds,
  refs: Refs | null,
  plan: ErasePlan | null = null,
): Buffer {
  forgetLastAgent();
  encoder.reset();
  const today = Math.floor(Date.now() / DAY_MS);
  let lastDay = '';
  let dayNumber = 0;
  let counts: Map<number, number> | null = null;
  let countsWriter = -1;
  for (const e of rows) {
    const i = e.input;
    const ids = idsOf(e, interned, today);
    if (e.day !== lastDay || ids.writer !== countsWriter) {
      if (e.day !== lastDay) dayNumber = unixDay((lastDay = e.day));
      countsWriter = ids.writer;
      if (refs) {
        const key = `${e.day}|${ids.writer}`;
        let r = refs.get(key);
        if (!r) refs.set(key, (r = { day: e.day, writer: ids.writer, counts: new Map() }));
        counts = r.counts;
      }
    }
    const gone = plan !== null && plan.erases(i.subjectId, e.occurredMs);
    if (counts && ids.userAgent !== null && !gone) counts.set(ids.userAgent, (counts.get(ids.userAgent) ?? 0) + 1);
    const access = impliedAccess(e);
    // One write for the bytes of the id, the salt and the hash.
    scratch.write(e.idHex + e.salt + e.hash, 0, 'hex');
    encoder
      .tuple(plan ? V3_ERASING_COLUMNS : V3_COLUMNS.length)
      .uuid(idView)
      .timestamptz(e.occurredMs)
      .date(dayNumber)
      .int4(e.seq);
    if (access) encoder.nil().nil();
    else encoder.text(i.kind).text(i.action);
    if (gone) encoder.nil();
    else opt(encoder, i.resource);
    opt(encoder, i.outcome);
    opt(encoder, i.requestId);
    if (ids.route !== null) encoder.nil().nil();
    else {
      opt(encoder, i.method);
      opt(encoder, i.route);
    }
    if (gone) encoder.nil();
    else opt(encoder, i.path);
    if (i.status == null) encoder.nil();
    else encoder.int2(i.status);
    if (i.durationMs == null) encoder.nil();
    else encoder.float8(i.durationMs);
    if (gone) encoder.nil().nil();
    else {
      opt(encoder, i.subjectId);
      opt(encoder, i.ip);
    }
    encoder.bool(i.ipInvalid ?? false);
    if (e.detailsJson === null || gone) encoder.nil();
    else encoder.jsonb(e.detailsJson);
    encoder.int2(3).bytea(hashView);
    if (gone) encoder.nil();
    else encoder.bytea(saltView);
    // The link is kept on a segment's first event only: verify takes every other from the row before.
    if (e.seq === 0) {
      scratch.write(e.prev, 32, 'hex');
      encoder.bytea(hashView);
    } else encoder.nil();
    if (ids.userAgent === null || gone) encoder.nil();
    else encoder.int4(ids.userAgent);
    if (ids.route === null) encoder.nil();
    else encoder.int4(ids.route);
    encoder.int4(ids.writer);
    if (plan) {
      if (gone) {
        digestView.write(e.digest, 0, 'hex');
        encoder.bytea(digestView).timestamptz(plan.at).text(plan.erasureId);
      } else encoder.nil().nil().nil();
    }
  }
  return encoder.finish();
}

function opt(encoder: CopyEncoder, v: string | null | undefined): void {
  if (v == null) encoder.nil();
  else encoder.text(v);
}
