/**
 * The request book the service's modules share: rows read and shown (the API's view), checked
 * moves with their history, the audit events (sync durability) and the update notifications.
 * Internal: `DataRights` is the package's API.
 */
import type { SecurityEvent, SubjectHold, SubjectRef } from '@harakaflow/core';
import { errorCodes, uuidv7 } from '@harakaflow/core';
import { and, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { InvalidRequest, InvalidTransition } from './errors.js';
import { exportsTable, requests } from './schema.js';
import { canTransition, isFinal } from './states.js';
import { exportToken } from './storage.js';
import {
  ALL_REQUEST_KINDS,
  REQUEST_STATUSES,
  type Actor,
  type DataRightsConfig,
  type HistoryEntry,
  type ListFilter,
  type RequestKind,
  type RequestStatus,
  type RightsRequest,
} from './types.js';

export const DAY = 86_400_000;
export type Row = typeof requests.$inferSelect;
/** Per handler: what it erased, what it kept and why; `holds`: kept under legal holds (held.ts). */
export type ErasureProgress = Record<
  string,
  { erased: number; kept: { count: number; reason: string }[]; holds?: SubjectHold[] | undefined }
>;

/**
 * Appends to a request's history in the statement that writes it (`history || entry`), never by
 * writing back an array read earlier: a concurrent writer (a purge started on its own beside the
 * request that filed it) would otherwise lose an entry.
 */
export const appendHistory = (entry: HistoryEntry) => sql`${requests.history} || ${JSON.stringify([entry])}::jsonb`;
export const effectiveDue = (r: Row) => r.extendedDueAt ?? r.dueAt;
/** A fulfilled access or portability request: one whose view may carry the export's link. */
export const hasExport = (r: Row) => (r.kind === 'access' || r.kind === 'portability') && r.status === 'fulfilled';
export type ExportFile = { id: string; expiresAt: Date; downloadedAt: Date | null };
/** A Date as a timestamptz parameter of raw SQL (postgres.js takes no Date in a raw fragment). */
export const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export class Ledger {
  readonly c: DataRightsConfig;

  constructor(config: DataRightsConfig) {
    this.c = config;
  }

  now(): Date {
    return new Date(this.c.now());
  }

  /**
   * The API's view of a request (issue 14 item 7's shape). A live export's one-time link only with
   * `links` (the account's own view): the admin's views say when it expires, never the link, which
   * works for whoever holds it (issue 30 item 7; `resendExport` sends it to the person instead).
   */
  async view(row: Row, files?: Map<string, ExportFile>, links = false): Promise<RightsRequest> {
    const subject: RightsRequest['subject'] = this.ref(row) ?? { kind: row.subjectKind, erased: true };
    const out: RightsRequest = {
      id: row.id,
      kind: row.kind,
      status: row.status,
      subject,
      filedBy: row.filedBy,
      verification: row.verification,
      details: row.details,
      ...(row.contact ? { contact: row.contact } : {}),
      ...(row.lang ? { lang: row.lang } : {}),
      receivedAt: row.receivedAt.toISOString(),
      dueAt: row.dueAt.toISOString(),
      history: row.history,
    };
    if (row.extendedDueAt) {
      out.extendedDueAt = row.extendedDueAt.toISOString();
      out.extensionReason = row.extensionReason ?? undefined;
    }
    // The receipt as signed, requestId and subjectHash included (issue 30 item 8): it verifies with the JWK set alone.
    if (row.receipt) out.receipt = row.receipt;
    if (hasExport(row)) {
      const file = files ? files.get(row.id) : (await this.exportsOf([row.id])).get(row.id);
      if (file && !file.downloadedAt && file.expiresAt > this.now()) {
        const token = links ? await exportToken(this.c.keyStore, file.id) : null;
        out.export = token
          ? { url: `/v1/privacy/exports/${token}`, expiresAt: file.expiresAt.toISOString() }
          : { expiresAt: file.expiresAt.toISOString() };
      }
    }
    return out;
  }

  /** The stored exports of these requests, by request id (one query for a whole page of them). */
  async exportsOf(requestIds: string[]): Promise<Map<string, ExportFile>> {
    if (!requestIds.length) return new Map();
    const rows = await this.c.db
      .select({
        requestId: exportsTable.requestId,
        id: exportsTable.id,
        expiresAt: exportsTable.expiresAt,
        downloadedAt: exportsTable.downloadedAt,
      })
      .from(exportsTable)
      .where(inArray(exportsTable.requestId, requestIds));
    return new Map(rows.map((r) => [r.requestId, r]));
  }

  async row(id: string): Promise<Row | null> {
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [row] = await this.c.db.select().from(requests).where(eq(requests.id, id.toLowerCase()));
    return row ?? null;
  }

  async event(
    action: string,
    row: Row,
    details: Record<string, unknown> = {},
    outcome: SecurityEvent['outcome'] = 'success',
  ): Promise<void> {
    // The subject id goes to the audit log for an account or its contact (never the phone number or email).
    await this.c.record({
      action,
      resource: `privacy-request:${row.id}`,
      subjectId: row.accountId ?? undefined,
      outcome,
      details: { kind: row.kind, status: row.status, ...details },
      durability: 'sync',
    });
  }

  /**
   * Tells of a change: the account (`onUpdate`) while the request has one, and the address to tell
   * (`onRequesterUpdate`: an emailed request's sender, or an account's address captured at its
   * deletion). That address is erased once the request's last change has been told (issue 30 items 8, 9).
   */
  async notify(row: Row): Promise<void> {
    const tell = async (what: string, send: () => Promise<void>) => {
      try {
        await send();
      } catch (error) {
        this.c.log.error({ err: errorCodes(error), requestId: row.id }, `data rights: the ${what} notification failed`);
      }
    };
    if (!(row.accountId && this.c.onUpdate) && !(row.replyTo && this.c.onRequesterUpdate)) return;
    const view = await this.view(row);
    if (row.accountId && this.c.onUpdate) await tell('update', () => this.c.onUpdate!(view, row.accountId!));
    if (row.replyTo && this.c.onRequesterUpdate)
      await tell('requester', () => this.c.onRequesterUpdate!(view, row.replyTo!));
    if (row.replyTo && isFinal(row.status))
      await this.c.db.update(requests).set({ replyTo: null }).where(eq(requests.id, row.id));
  }

  /**
   * Moves a request, checked (no `fulfilled` → `open`), in one statement that also checks the
   * status it moves from, so two replicas cannot both move it. Audited with sync durability.
   */
  async move(
    row: Row,
    to: RequestStatus,
    by: Actor,
    extra: Partial<Row> = {},
    entry: Partial<HistoryEntry> = {},
  ): Promise<Row> {
    if (!canTransition(row.status, to)) throw new InvalidTransition(row.status, to);
    const at = this.now();
    const [moved] = await this.c.db
      .update(requests)
      .set({
        ...extra,
        status: to,
        history: appendHistory({ status: to, at: at.toISOString(), by, ...entry }),
        updatedAt: at,
      })
      .where(and(eq(requests.id, row.id), eq(requests.status, row.status)))
      .returning();
    if (!moved) {
      const now = await this.row(row.id);
      throw new InvalidTransition(now?.status ?? row.status, to);
    }
    if (to === 'fulfilled') this.c.onFulfilled?.(moved.kind, at.getTime() - moved.receivedAt.getTime());
    await this.event(`data_rights.request.${to}`, moved, { by, ...(entry.event ? { event: entry.event } : {}) });
    await this.notify(moved);
    return moved;
  }

  /** A new request row (its id a UUIDv7 of `at`, due `dueDays` later). */
  async insert(
    r: {
      kind: RequestKind;
      subject: SubjectRef;
      hash: string;
      status: RequestStatus;
      filedBy: 'self' | 'admin';
      verification: string | null;
      details?: string | null | undefined;
      replyTo?: string | null | undefined;
      contact?: string | null | undefined;
      lang?: string | null | undefined;
      history: HistoryEntry[];
      id?: string | undefined;
    },
    at: Date,
  ): Promise<Row | null> {
    const [row] = await this.c.db
      .insert(requests)
      .values({
        id: r.id ?? uuidv7(at.getTime()),
        kind: r.kind,
        status: r.status,
        subjectKind: r.subject.kind,
        accountId: r.subject.kind === 'email' ? null : r.subject.accountId,
        phone: r.subject.kind === 'contact' ? r.subject.phone : null,
        email: r.subject.kind === 'email' ? r.subject.email : null,
        subjectHash: r.hash,
        filedBy: r.filedBy,
        verification: r.verification,
        details: r.details ?? null,
        replyTo: r.replyTo ?? null,
        contact: r.contact ?? null,
        lang: r.lang ?? null,
        receivedAt: at,
        dueAt: new Date(at.getTime() + this.c.dueDays * DAY),
        history: r.history,
        updatedAt: this.now(),
      })
      // An id chosen by its intake, filed again (a crash between filing and recording it): the first stands.
      .onConflictDoNothing({ target: requests.id })
      .returning();
    return row ?? null;
  }

  /** The latest deletion request of a subject (by its keyed hash) in one of `statuses`, or null. */
  async deletionOf(hash: string, statuses: RequestStatus[]): Promise<Row | null> {
    const [row] = await this.c.db
      .select()
      .from(requests)
      .where(and(eq(requests.subjectHash, hash), eq(requests.kind, 'deletion'), inArray(requests.status, statuses)))
      .orderBy(desc(requests.id))
      .limit(1);
    return row ?? null;
  }

  ref(row: Row): SubjectRef | null {
    if (row.subjectKind === 'account' && row.accountId) return { kind: 'account', accountId: row.accountId };
    if (row.subjectKind === 'contact' && row.accountId && row.phone)
      return { kind: 'contact', accountId: row.accountId, phone: row.phone };
    if (row.subjectKind === 'email' && row.email) return { kind: 'email', email: row.email };
    return null;
  }

  /**
   * Requests newest first (an account's own, with their export links), or the admin queue (without); keyset-paginated.
   */
  async list(filter: ListFilter): Promise<{ requests: RightsRequest[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const where: SQL[] = [];
    if (filter.accountId !== undefined) where.push(eq(requests.accountId, filter.accountId));
    if (filter.status !== undefined) {
      if (!REQUEST_STATUSES.includes(filter.status))
        throw new InvalidRequest(`status must be one of ${REQUEST_STATUSES.join(', ')}`);
      where.push(eq(requests.status, filter.status));
    }
    if (filter.kind !== undefined) {
      if (!ALL_REQUEST_KINDS.includes(filter.kind))
        throw new InvalidRequest(`kind must be one of ${ALL_REQUEST_KINDS.join(', ')}`);
      where.push(eq(requests.kind, filter.kind));
    }
    const due = sql`coalesce(${requests.extendedDueAt}, ${requests.dueAt})`;
    if (filter.overdue) where.push(inArray(requests.status, ['open', 'in_progress']), sql`${due} < ${ts(this.now())}`);
    if (filter.dueBefore) where.push(sql`${due} < ${ts(filter.dueBefore)}`);
    if (filter.cursor !== undefined) {
      const id = Buffer.from(filter.cursor, 'base64url').toString();
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new InvalidRequest('cursor is not one this API gave');
      where.push(lt(requests.id, id));
    }
    const rows = await this.c.db
      .select()
      .from(requests)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(requests.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const files = await this.exportsOf(page.filter(hasExport).map((r) => r.id));
    return {
      requests: await Promise.all(page.map((r) => this.view(r, files, filter.accountId !== undefined))),
      nextCursor: rows.length > limit ? Buffer.from(page.at(-1)!.id).toString('base64url') : null,
    };
  }
}
