/**
 * The chain check's erasures: every erased event against the chained erasure record that names it (count, id range,
 * digest).
 */
import type { Database } from '@harakaflow/db';
import { createHash, type Hash } from 'node:crypto';
import { eventProblem, type AuditEvent } from './event.js';
import { ERASURE_ACTION, erasureRecords, linkOf } from './store.js';
import type { VerifyResult } from './verify-result.js';

/** The UTC day of a UUIDv7's millisecond. */
function utcDayOfId(id: string): string {
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toISOString().slice(0, 10);
}

export class ErasureCheck {
  readonly #db: Database;
  readonly #from: string | undefined;
  readonly #to: string | undefined;
  readonly #result: VerifyResult;
  /** Per erasure id: what the erased events carrying it add up to, in id order. */
  readonly #erased = new Map<string, { count: number; first: AuditEvent; last: string; digest: Hash; sep: string }>();
  readonly #records = new Map<string, AuditEvent>();

  /** `from` and `to`: the days verified (inclusive); problems and counts go to `result`. */
  constructor(db: Database, from: string | undefined, to: string | undefined, result: VerifyResult) {
    this.#db = db;
    this.#from = from;
    this.#to = to;
    this.#result = result;
  }

  /** An erasure problem: reported, but the chain checks of the segment go on. */
  #report(e: AuditEvent, detail: string): void {
    this.#result.problems.push({
      writer: e.writer,
      day: e.day,
      reason: 'erasure-unrecorded',
      seq: e.seq,
      id: e.id,
      detail,
    });
  }

  /** Does the verified range hold every event from `first` to `last` (ids carry their time)? */
  #covers(first: string, last: string): boolean {
    return (!this.#from || utcDayOfId(first) >= this.#from) && (!this.#to || utcDayOfId(last) <= this.#to);
  }

  /** Notes an event: erased (adds it to its erasure id's tally), or an erasure record. */
  add(e: AuditEvent): void {
    if (e.personalSalt === null && e.erasedAt !== null) {
      if (e.erasedBy === null) this.#report(e, 'no erasure record names this event');
      else {
        let t = this.#erased.get(e.erasedBy);
        if (!t)
          this.#erased.set(e.erasedBy, (t = { count: 0, first: e, last: e.id, digest: createHash('sha256'), sep: '' }));
        t.digest.update(t.sep + e.id);
        t.sep = '\n';
        t.count++;
        t.last = e.id;
      }
    }
    if (e.action === ERASURE_ACTION && e.kind === 'security') {
      const id = (e.details as { erasureId?: unknown } | null)?.erasureId;
      if (typeof id === 'string') this.#records.set(id, e);
    }
  }

  /** Checks each erasure id's events against its record, and finds the records whose events were not all erased. */
  async check(): Promise<void> {
    const outside = [...this.#erased.keys()].filter((id) => !this.#records.has(id));
    for (const r of await erasureRecords(this.#db, outside))
      this.#records.set((r.details as { erasureId: string }).erasureId, r);
    for (const [id, t] of this.#erased) {
      const record = this.#records.get(id);
      const stated = record?.details as
        { count?: unknown; firstId?: unknown; lastId?: unknown; idsSha256?: unknown } | null | undefined;
      if (!record || !stated) {
        this.#report(t.first, 'its erasure id names no erasure record');
        continue;
      }
      if (
        record.personalSalt === null ||
        eventProblem(record, record.chainVersion === 3 ? await linkOf(this.#db, record) : undefined)
      ) {
        this.#report(t.first, 'its erasure record does not verify');
        continue;
      }
      const firstId = String(stated.firstId);
      const lastId = String(stated.lastId);
      if (t.first.id < firstId || t.last > lastId || t.count > Number(stated.count))
        this.#report(t.first, 'outside the range its erasure record states');
      else if (
        this.#covers(firstId, lastId) &&
        (t.count !== stated.count ||
          t.first.id !== firstId ||
          t.last !== lastId ||
          t.digest.digest('hex') !== stated.idsSha256)
      ) {
        this.#report(t.first, 'the erased events do not match their erasure record (count, range or digest)');
      }
    }
    for (const [id, record] of this.#records) {
      if (this.#erased.has(id)) continue;
      const stated = record.details as { firstId?: unknown; lastId?: unknown; count?: unknown } | null;
      if (stated && Number(stated.count) > 0 && this.#covers(String(stated.firstId), String(stated.lastId)))
        this.#result.erasures.incomplete.push(id);
    }
    this.#result.erasures.recorded = this.#records.size;
  }
}
