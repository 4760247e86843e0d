/**
 * Legal holds (§4: records kept "under a legal obligation" or a dispute): a subject's rows, or a
 * whole class, kept past their period until the hold is released or its `until` passes. Every hold
 * and release is an audit security event with sync durability.
 */
import { uuidv7, type SecurityEvent } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, desc, eq, gt, isNull, or } from 'drizzle-orm';
import { HoldNotFound, InvalidHold, UnknownClass } from './errors.js';
import { holds } from './schema.js';

export interface Hold {
  id: string;
  subjectId: string | null;
  class: string | null;
  reason: string;
  until: string | null;
  createdBy: string;
  createdAt: string;
}

const view = (r: typeof holds.$inferSelect): Hold => ({
  id: r.id,
  subjectId: r.subjectId,
  class: r.className,
  reason: r.reason,
  until: r.until?.toISOString() ?? null,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
});

export class Holds {
  constructor(
    private readonly o: {
      db: Database;
      classNames: () => string[];
      record: (event: SecurityEvent) => Promise<void>;
      now: () => number;
    },
  ) {}

  #active(now: Date) {
    return and(isNull(holds.releasedAt), or(isNull(holds.until), gt(holds.until, now)));
  }

  async place(
    input: {
      subjectId?: string | undefined;
      class?: string | undefined;
      reason: string;
      until?: string | Date | undefined;
    },
    by: string,
  ): Promise<Hold> {
    if (!input.subjectId && !input.class) throw new InvalidHold('a hold names a subjectId, a class, or both');
    if (typeof input.reason !== 'string' || !input.reason.trim()) throw new InvalidHold('a hold needs its reason');
    if (input.class !== undefined && !this.o.classNames().includes(input.class))
      throw new UnknownClass(JSON.stringify(input.class));
    const now = new Date(this.o.now());
    const until = input.until === undefined ? null : new Date(input.until);
    if (until && (Number.isNaN(until.getTime()) || until <= now))
      throw new InvalidHold('until must be a date in the future');
    const [row] = await this.o.db
      .insert(holds)
      .values({
        id: uuidv7(now.getTime()),
        subjectId: input.subjectId ?? null,
        className: input.class ?? null,
        reason: input.reason.trim(),
        until,
        createdBy: by,
        createdAt: now,
      })
      .returning();
    await this.o.record({
      action: 'retention.hold.placed',
      resource: `retention-hold:${row!.id}`,
      subjectId: input.subjectId,
      outcome: 'success',
      durability: 'sync',
      details: { class: input.class ?? null, until: until?.toISOString() ?? null, by },
    });
    return view(row!);
  }

  async release(id: string, by: string): Promise<Hold> {
    const now = new Date(this.o.now());
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new HoldNotFound();
    const [row] = await this.o.db
      .update(holds)
      .set({ releasedAt: now, releasedBy: by })
      .where(and(eq(holds.id, id), this.#active(now)))
      .returning();
    if (!row) throw new HoldNotFound();
    await this.o.record({
      action: 'retention.hold.released',
      resource: `retention-hold:${id}`,
      subjectId: row.subjectId ?? undefined,
      outcome: 'success',
      durability: 'sync',
      details: { class: row.className, by },
    });
    return view(row);
  }

  async list(): Promise<Hold[]> {
    return (
      await this.o.db
        .select()
        .from(holds)
        .where(this.#active(new Date(this.o.now())))
        .orderBy(desc(holds.createdAt))
    ).map(view);
  }

  /**
   * The holds that cover a subject, for an erasure to keep what they name: those on the subject
   * (a class, or every class) and those on a whole class (no subject), which keep everyone's rows
   * in it. The reason is the operator's; it goes into the erasure receipt.
   */
  async holdsOn(subjectId: string): Promise<{ id: string; class: string | null; reason: string }[]> {
    const rows = await this.o.db
      .select({ id: holds.id, className: holds.className, reason: holds.reason })
      .from(holds)
      .where(and(this.#active(new Date(this.o.now())), or(eq(holds.subjectId, subjectId), isNull(holds.subjectId))))
      .orderBy(holds.createdAt);
    return rows.map((r) => ({ id: r.id, class: r.className, reason: r.reason }));
  }

  /** The accounts held for a class: holds on the subject for that class or for every class. */
  async subjectsHeld(className: string): Promise<string[]> {
    const rows = await this.o.db
      .select({ subjectId: holds.subjectId })
      .from(holds)
      .where(and(this.#active(new Date(this.o.now())), or(isNull(holds.className), eq(holds.className, className))));
    return [...new Set(rows.map((r) => r.subjectId).filter((s): s is string => !!s))];
  }
}
