/**
 * The rights requests of policy §6 as data, without Fastify: filing, checked transitions with a
 * history, the 30-day clock and its one extension, the erasure job (progress per handler in the
 * database, claimed with a lease, resumable) ending in a signed receipt, exports, restriction and
 * the deadline alerts. The plugin wires it to the app; workers and the CLI use it directly.
 */
import type { PersonalDataHandler, SecurityEvent, SubjectKind, SubjectRef } from '@harakaflow/core';
import { errorCodes, uuidv7 } from '@harakaflow/core';
import { resultRows, type Database } from '@harakaflow/db';
import { and, asc, desc, eq, inArray, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { bundlePieces } from './bundle.js';
import { AlreadyExtended, InvalidRequest, InvalidTransition, RequestNotFound, SubjectNotFound } from './errors.js';
import { erasureJobs, exportsTable, journal, requests, restrictions } from './schema.js';
import type { SigningKeys } from './signing.js';
import { canTransition } from './states.js';
import { claimExport, deleteExport, exportToken, readExport, storeExport, sweepExports, type ExportKeyStore } from './storage.js';
import { checkSubject, subjectHash } from './subject.js';
import { zipFromRanges } from './zip.js';
import { REQUEST_KINDS, REQUEST_STATUSES, type Actor, type HistoryEntry, type Receipt, type RequestKind, type RequestStatus, type RightsRequest } from './types.js';

const DAY = 86_400_000;
type Row = typeof requests.$inferSelect;

export interface DataRightsConfig {
  db: Database;
  signingKeys: SigningKeys;
  /** HMAC key of subject hashes (at least 32 bytes). */
  subjectKey: Buffer;
  keyStore: ExportKeyStore;
  /** The handlers that hold data about a kind of subject, asked when needed (they register late). */
  handlers: (kind: SubjectKind) => readonly PersonalDataHandler[];
  /** A security event with sync durability (the audit log); it must reject when not recorded. */
  record: (event: SecurityEvent) => Promise<void>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  dueDays: number;
  purgeAfterDays: number;
  exportTtlHours: number;
  /** Due-soon alert this many days before the due date. */
  dueSoonDays: number;
  /** An emailed request not verified within this many days expires. */
  verifyWithinDays: number;
  leaseMs: number;
  now: () => number;
  /** Is the subject under a legal hold (§4)? Its purge then waits, re-checked hourly, until released. */
  isHeld?: ((ref: SubjectRef) => Promise<boolean>) | undefined;
  /** Does the account exist (a request about a missing account is refused)? */
  accountExists: (accountId: string) => Promise<boolean>;
  /** The account enters (true) or leaves (false) pending deletion: keys refused, endpoints paused. */
  onPendingDeletion?: ((accountId: string, pending: boolean) => Promise<void>) | undefined;
  /** Every state change of a request whose subject has an account (notification, webhook). */
  onUpdate?: ((request: RightsRequest, accountId: string) => Promise<void>) | undefined;
  /** An operator alert: `data_rights.request.due_soon` or `data_rights.request.overdue`. */
  onAlert?: ((alert: { action: string; request: RightsRequest }) => Promise<void>) | undefined;
  /** Withdraws consent for the account (the consent package's withdrawal); returns records written. */
  withdrawConsent?: ((accountId: string) => Promise<number>) | undefined;
  /** Runs the jobs soon (the plugin's sweep); without it, due work waits for the next call. */
  kick?: (() => void) | undefined;
}

export interface FileInput {
  kind: RequestKind;
  subject: SubjectRef;
  filedBy: 'self' | 'admin';
  /** How the requester was verified; null for an emailed request still to verify (admin only). */
  verification: string | null;
  details?: string | null | undefined;
}

export interface ListFilter {
  accountId?: string | undefined;
  status?: RequestStatus | undefined;
  kind?: RequestKind | undefined;
  overdue?: boolean | undefined;
  dueBefore?: Date | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

export { uuidv7 } from '@harakaflow/core';

/**
 * Appends to a request's history in the statement that writes it (`history || entry`), never by
 * writing back an array read earlier: a concurrent writer (a purge started on its own beside the
 * request that filed it) would otherwise lose an entry.
 */
const appendHistory = (entry: HistoryEntry) => sql`${requests.history} || ${JSON.stringify([entry])}::jsonb`;
const effectiveDue = (r: Row) => r.extendedDueAt ?? r.dueAt;
/** A fulfilled access or portability request: one whose view may carry the export's link. */
const hasExport = (r: Row) => (r.kind === 'access' || r.kind === 'portability') && r.status === 'fulfilled';
type ExportFile = { id: string; expiresAt: Date; downloadedAt: Date | null };
/** A Date as a timestamptz parameter of raw SQL (postgres.js takes no Date in a raw fragment). */
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export class DataRights {
  readonly #c: DataRightsConfig;

  constructor(config: DataRightsConfig) {
    this.#c = config;
  }

  #now(): Date {
    return new Date(this.#c.now());
  }

  /** The API's view of a request (issue 14 item 7's shape). */
  async view(row: Row, files?: Map<string, ExportFile>): Promise<RightsRequest> {
    const subject: RightsRequest['subject'] = this.#ref(row) ?? { kind: row.subjectKind, erased: true };
    const out: RightsRequest = {
      id: row.id,
      kind: row.kind,
      status: row.status,
      subject,
      filedBy: row.filedBy,
      verification: row.verification,
      details: row.details,
      receivedAt: row.receivedAt.toISOString(),
      dueAt: row.dueAt.toISOString(),
      history: row.history,
    };
    if (row.extendedDueAt) {
      out.extendedDueAt = row.extendedDueAt.toISOString();
      out.extensionReason = row.extensionReason ?? undefined;
    }
    if (row.receipt) out.receipt = { handlers: row.receipt.handlers, signature: row.receipt.signature, keyId: row.receipt.keyId, completedAt: row.receipt.completedAt };
    if (hasExport(row)) {
      const file = files ? files.get(row.id) : (await this.#exportsOf([row.id])).get(row.id);
      if (file && !file.downloadedAt && file.expiresAt > this.#now()) {
        const token = await exportToken(this.#c.keyStore, file.id);
        if (token) out.export = { url: `/v1/privacy/exports/${token}`, expiresAt: file.expiresAt.toISOString() };
      }
    }
    return out;
  }

  /** The stored exports of these requests, by request id (one query for a whole page of them). */
  async #exportsOf(requestIds: string[]): Promise<Map<string, ExportFile>> {
    if (!requestIds.length) return new Map();
    const rows = await this.#c.db
      .select({ requestId: exportsTable.requestId, id: exportsTable.id, expiresAt: exportsTable.expiresAt, downloadedAt: exportsTable.downloadedAt })
      .from(exportsTable)
      .where(inArray(exportsTable.requestId, requestIds));
    return new Map(rows.map((r) => [r.requestId, r]));
  }

  async #row(id: string): Promise<Row | null> {
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) return null;
    const [row] = await this.#c.db.select().from(requests).where(eq(requests.id, id.toLowerCase()));
    return row ?? null;
  }

  /** A request, or HF_DATA_RIGHTS_NOT_FOUND; `accountId` limits it to that account's own (404 otherwise). */
  async get(id: string, accountId?: string): Promise<RightsRequest> {
    const row = await this.#row(id);
    if (!row || (accountId !== undefined && row.accountId !== accountId)) throw new RequestNotFound();
    return this.view(row);
  }

  async #event(action: string, row: Row, details: Record<string, unknown> = {}, outcome: SecurityEvent['outcome'] = 'success'): Promise<void> {
    // The subject id goes to the audit log for an account or its contact (never the phone number or email).
    await this.#c.record({ action, resource: `privacy-request:${row.id}`, subjectId: row.accountId ?? undefined, outcome, details: { kind: row.kind, status: row.status, ...details }, durability: 'sync' });
  }

  async #notify(row: Row): Promise<void> {
    if (!row.accountId || !this.#c.onUpdate) return;
    try {
      await this.#c.onUpdate(await this.view(row), row.accountId);
    } catch (error) {
      this.#c.log.error({ err: errorCodes(error), requestId: row.id }, 'data rights: the update notification failed');
    }
  }

  /**
   * Moves a request, checked (no `fulfilled` → `open`), in one statement that also checks the
   * status it moves from, so two replicas cannot both move it. Audited with sync durability.
   */
  async #move(row: Row, to: RequestStatus, by: Actor, extra: Partial<Row> = {}, entry: Partial<HistoryEntry> = {}): Promise<Row> {
    if (!canTransition(row.status, to)) throw new InvalidTransition(row.status, to);
    const at = this.#now();
    const [moved] = await this.#c.db
      .update(requests)
      .set({ ...extra, status: to, history: appendHistory({ status: to, at: at.toISOString(), by, ...entry }), updatedAt: at })
      .where(and(eq(requests.id, row.id), eq(requests.status, row.status)))
      .returning();
    if (!moved) {
      const now = await this.#row(row.id);
      throw new InvalidTransition(now?.status ?? row.status, to);
    }
    await this.#event(`data_rights.request.${to}`, moved, { by, ...(entry.event ? { event: entry.event } : {}) });
    await this.#notify(moved);
    return moved;
  }

  /** A new request row (its id a UUIDv7 of `at`, due `dueDays` later). */
  async #insert(
    r: { kind: RequestKind; subject: SubjectRef; hash: string; status: RequestStatus; filedBy: 'self' | 'admin'; verification: string | null; details?: string | null | undefined; history: HistoryEntry[] },
    at: Date,
  ): Promise<Row> {
    const [row] = await this.#c.db
      .insert(requests)
      .values({
        id: uuidv7(at.getTime()),
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
        receivedAt: at,
        dueAt: new Date(at.getTime() + this.#c.dueDays * DAY),
        history: r.history,
        updatedAt: at,
      })
      .returning();
    return row!;
  }

  /** Files a request. A second open deletion of the same subject answers the first (idempotent). */
  async file(input: FileInput): Promise<RightsRequest> {
    if (!REQUEST_KINDS.includes(input.kind)) throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
    const subject = checkSubject(input.subject);
    if (input.details != null && (typeof input.details !== 'string' || input.details.length > 2000)) throw new InvalidRequest('details is text of at most 2000 characters');
    if (input.verification !== null && (typeof input.verification !== 'string' || !input.verification.trim() || input.verification.length > 500)) {
      throw new InvalidRequest('verification says how the requester was verified, in at most 500 characters');
    }
    if (subject.kind !== 'email' && !(await this.#c.accountExists(subject.accountId))) throw new SubjectNotFound();
    const hash = subjectHash(this.#c.subjectKey, subject);
    if (input.kind === 'deletion') {
      const [existing] = await this.#c.db
        .select()
        .from(requests)
        .where(and(eq(requests.subjectHash, hash), eq(requests.kind, 'deletion'), inArray(requests.status, ['open', 'in_progress'])))
        .limit(1);
      if (existing) return this.view(existing);
    }
    const at = this.#now();
    const row = await this.#insert({ ...input, subject, hash, status: 'open', history: [{ status: 'open', at: at.toISOString(), by: input.filedBy }] }, at);
    await this.#event('data_rights.request.received', row!, { filedBy: input.filedBy, verified: input.verification !== null });
    await this.#notify(row!);
    // A request awaiting verification waits for the admin; the others start now.
    return this.view(input.verification === null ? row! : await this.#start(row!));
  }

  /** What each kind does once the requester is verified. */
  async #start(row: Row): Promise<Row> {
    const by: Actor = 'system';
    switch (row.kind) {
      case 'deletion': {
        const purgeAt = new Date(this.#c.now() + this.#c.purgeAfterDays * DAY);
        // A contact's number or an email has no account to hold back: erased at once.
        const dueAt = row.subjectKind === 'account' ? purgeAt : this.#now();
        await this.#c.db.insert(erasureJobs).values({ requestId: row.id, status: 'pending', dueAt, progress: {} }).onConflictDoNothing();
        if (row.subjectKind === 'account') await this.#c.onPendingDeletion?.(row.accountId!, true);
        const moved = await this.#move(row, 'in_progress', by, {}, { event: 'purge-scheduled', note: `purge at ${dueAt.toISOString()}` });
        // Due now: run once the request that filed it has been answered (and its own access event
        // queued), so the purge reaches that event too.
        if (dueAt.getTime() <= this.#c.now()) this.#c.kick?.();
        return moved;
      }
      case 'access':
      case 'portability': {
        const moved = await this.#move(row, 'in_progress', by, {}, { event: 'export-started' });
        return this.#export(moved);
      }
      case 'restriction': {
        if (row.subjectKind !== 'account') return this.#move(row, 'denied', by, {}, { note: 'restriction applies to an account' });
        await this.#c.db.insert(restrictions).values({ accountId: row.accountId!, requestId: row.id, since: this.#now() }).onConflictDoNothing();
        return this.#move(row, 'fulfilled', by, {}, { event: 'restricted' });
      }
      case 'withdraw_consent': {
        if (row.subjectKind !== 'account' || !this.#c.withdrawConsent) return row;
        const written = await this.#c.withdrawConsent(row.accountId!);
        return this.#move(row, 'fulfilled', by, {}, { event: 'consent-withdrawn', note: `${written} ledger record(s)` });
      }
      // Correction of an email and objection go to the admin queue as they are.
      default:
        return row;
    }
  }

  /** Builds, encrypts and stores the export, then fulfils the request with its one-time link. */
  async #export(row: Row): Promise<Row> {
    const ref = this.#ref(row)!;
    const at = this.#now();
    const id = uuidv7(at.getTime());
    const expiresAt = new Date(at.getTime() + this.#c.exportTtlHours * 3_600_000);
    const handlers = this.#c.handlers(ref.kind);
    await storeExport(this.#c.db, this.#c.keyStore, { id, requestId: row.id, expiresAt, now: at }, bundlePieces(row.id, ref, handlers, this.#c.signingKeys, () => this.#now()));
    return this.#move(row, 'fulfilled', 'system', {}, { event: 'export-ready', note: `link valid until ${expiresAt.toISOString()}` });
  }

  #ref(row: Row): SubjectRef | null {
    if (row.subjectKind === 'account' && row.accountId) return { kind: 'account', accountId: row.accountId };
    if (row.subjectKind === 'contact' && row.accountId && row.phone) return { kind: 'contact', accountId: row.accountId, phone: row.phone };
    if (row.subjectKind === 'email' && row.email) return { kind: 'email', email: row.email };
    return null;
  }

  /** An administrator records how an emailed request's requester was verified; the request starts. */
  async verify(id: string, verification: string): Promise<RightsRequest> {
    const row = await this.#row(id);
    if (!row) throw new RequestNotFound();
    if (typeof verification !== 'string' || !verification.trim() || verification.length > 500) throw new InvalidRequest('verification says how the requester was verified');
    if (row.status !== 'open' || row.verification !== null) throw new InvalidTransition(row.status, 'in_progress');
    const [verified] = await this.#c.db.update(requests).set({ verification, updatedAt: this.#now() }).where(and(eq(requests.id, row.id), isNull(requests.verification))).returning();
    if (!verified) throw new InvalidTransition(row.status, 'in_progress');
    return this.view(await this.#start(verified));
  }

  /** Cancels a request that has not been carried out; a deletion's account is restored. */
  async cancel(id: string, by: Actor, accountId?: string): Promise<RightsRequest> {
    const row = await this.#row(id);
    if (!row || (accountId !== undefined && row.accountId !== accountId)) throw new RequestNotFound();
    if (row.kind === 'deletion' && row.status === 'in_progress') {
      // Only before the purge has begun: a job some handler already ran cannot be undone.
      const gone = await this.#c.db
        .delete(erasureJobs)
        .where(and(eq(erasureJobs.requestId, row.id), eq(erasureJobs.status, 'pending'), sql`${erasureJobs.progress} = '{}'::jsonb`))
        .returning({ id: erasureJobs.requestId });
      if (!gone.length) throw new InvalidTransition('in_progress (purge started)', 'canceled');
      const moved = await this.#move(row, 'canceled', by);
      if (row.subjectKind === 'account') await this.#c.onPendingDeletion?.(row.accountId!, false);
      return this.view(moved);
    }
    return this.view(await this.#move(row, 'canceled', by));
  }

  async deny(id: string, reason: string): Promise<RightsRequest> {
    const row = await this.#row(id);
    if (!row) throw new RequestNotFound();
    if (typeof reason !== 'string' || !reason.trim() || reason.length > 2000) throw new InvalidRequest('a denial gives its reason');
    if (row.kind === 'deletion' && row.status === 'in_progress') return this.cancel(id, 'admin').then(() => this.get(id));
    return this.view(await this.#move(row, 'denied', 'admin', {}, { note: reason }));
  }

  /** An administrator fulfils a request handled outside the kit (an objection, an email correction). */
  async fulfil(id: string, note?: string): Promise<RightsRequest> {
    const row = await this.#row(id);
    if (!row) throw new RequestNotFound();
    if (row.kind === 'deletion' || row.kind === 'access' || row.kind === 'portability') {
      throw new InvalidRequest(`a ${row.kind} request is fulfilled by the kit when its work is done`);
    }
    if (row.status === 'open' && row.verification === null) throw new InvalidRequest('verify the requester first');
    return this.view(await this.#move(row, 'fulfilled', 'admin', {}, note ? { note: note.slice(0, 2000) } : {}));
  }

  /** Records a correction applied at once (PATCH /v1/privacy/profile): a fulfilled `correction`. */
  async recordCorrection(accountId: string, fields: string[]): Promise<RightsRequest> {
    const filed = await this.file({ kind: 'correction', subject: { kind: 'account', accountId }, filedBy: 'self', verification: 'api-key', details: `corrected: ${fields.join(', ')}` });
    const row = (await this.#row(filed.id))!;
    return this.view(await this.#move(row, 'fulfilled', 'self', {}, { event: 'corrected' }));
  }

  /** The one extension (at most 60 days, with a reason): the notice goes to the requester. */
  async extend(id: string, days: number, reason: string): Promise<RightsRequest> {
    const row = await this.#row(id);
    if (!row) throw new RequestNotFound();
    if (!Number.isInteger(days) || days < 1 || days > 60) throw new InvalidRequest('an extension is 1 to 60 days');
    if (typeof reason !== 'string' || !reason.trim() || reason.length > 2000) throw new InvalidRequest('an extension gives its reason');
    if (row.status !== 'open' && row.status !== 'in_progress') throw new InvalidTransition(row.status, row.status);
    const extendedDueAt = new Date(row.dueAt.getTime() + days * DAY);
    const at = this.#now();
    const [moved] = await this.#c.db
      .update(requests)
      .set({ extendedDueAt, extensionReason: reason, history: appendHistory({ status: row.status, at: at.toISOString(), by: 'admin', event: 'extended', note: reason }), updatedAt: at })
      .where(and(eq(requests.id, row.id), isNull(requests.extendedDueAt)))
      .returning();
    if (!moved) throw new AlreadyExtended();
    await this.#event('data_rights.request.extended', moved, { days });
    await this.#notify(moved);
    return this.view(moved);
  }

  /** Requests newest first (an account's own), or the admin queue by due date; keyset-paginated. */
  async list(filter: ListFilter): Promise<{ requests: RightsRequest[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const where: SQL[] = [];
    if (filter.accountId !== undefined) where.push(eq(requests.accountId, filter.accountId));
    if (filter.status !== undefined) {
      if (!REQUEST_STATUSES.includes(filter.status)) throw new InvalidRequest(`status must be one of ${REQUEST_STATUSES.join(', ')}`);
      where.push(eq(requests.status, filter.status));
    }
    if (filter.kind !== undefined) {
      if (!REQUEST_KINDS.includes(filter.kind)) throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
      where.push(eq(requests.kind, filter.kind));
    }
    const due = sql`coalesce(${requests.extendedDueAt}, ${requests.dueAt})`;
    if (filter.overdue) where.push(inArray(requests.status, ['open', 'in_progress']), sql`${due} < ${ts(this.#now())}`);
    if (filter.dueBefore) where.push(sql`${due} < ${ts(filter.dueBefore)}`);
    if (filter.cursor !== undefined) {
      const id = Buffer.from(filter.cursor, 'base64url').toString();
      if (!/^[0-9a-f-]{36}$/.test(id)) throw new InvalidRequest('cursor is not one this API gave');
      where.push(lt(requests.id, id));
    }
    const rows = await this.#c.db
      .select()
      .from(requests)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(requests.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const files = await this.#exportsOf(page.filter(hasExport).map((r) => r.id));
    return {
      requests: await Promise.all(page.map((r) => this.view(r, files))),
      nextCursor: rows.length > limit ? Buffer.from(page.at(-1)!.id).toString('base64url') : null,
    };
  }

  /**
   * The one download an export token allows: the JSON document's bytes (`size` known), or a zip
   * with an entry per part and `manifest.json` (size unknown: streamed); then it is deleted.
   */
  async download(token: string, format: 'json' | 'zip' = 'json'): Promise<{ requestId: string; format: 'json' | 'zip'; size: number | null; body: AsyncGenerator<Buffer> } | null> {
    const claimed = await claimExport(this.#c.db, token, this.#now());
    if (!claimed) return null;
    const [row] = await this.#c.db.select().from(requests).where(eq(requests.id, claimed.requestId));
    if (row) await this.#event('data_rights.export.downloaded', row, { size: claimed.size, format });
    const body = readExport(this.#c.db, this.#c.keyStore, claimed);
    // An export stored before zips existed has no layout: it is served as JSON whatever was asked.
    if (format === 'zip' && claimed.layout) return { requestId: claimed.requestId, format, size: null, body: zipFromRanges(body, claimed.layout, this.#now()) };
    return { requestId: claimed.requestId, format: 'json', size: claimed.size, body };
  }

  /** The public keys of manifests and receipts, as a JWK set (GET /.well-known/harakaflow-signing-keys.json). */
  publicKeys() {
    return this.#c.signingKeys.publicKeys();
  }

  async isRestricted(accountId: string): Promise<boolean> {
    const [row] = await this.#c.db.select({ id: restrictions.accountId }).from(restrictions).where(eq(restrictions.accountId, accountId));
    return Boolean(row);
  }

  /** Is the account waiting for its purge (a deletion in progress)? */
  async pendingDeletion(accountId: string): Promise<boolean> {
    const [row] = await this.#c.db
      .select({ id: requests.id })
      .from(requests)
      .where(and(eq(requests.accountId, accountId), eq(requests.kind, 'deletion'), eq(requests.subjectKind, 'account'), eq(requests.status, 'in_progress')))
      .limit(1);
    return Boolean(row);
  }

  /**
   * Runs erasure jobs that are due (or the one named), each claimed with a lease in one statement
   * (`FOR UPDATE SKIP LOCKED`), so replicas never run one job twice at once and a crashed
   * replica's job is claimed again when its lease runs out. Each handler's result is written as it
   * finishes; a resumed job skips the handlers already done. Returns the jobs completed.
   */
  async runDueErasures(requestId?: string): Promise<number> {
    let completed = 0;
    for (;;) {
      const at = this.#now();
      const claimed = (await this.#c.db.execute(sql`
        update ${erasureJobs} set status = 'running', lease_until = ${ts(new Date(at.getTime() + this.#c.leaseMs))}, attempts = ${erasureJobs.attempts} + 1
        where ${erasureJobs.requestId} = (
          select ${erasureJobs.requestId} from ${erasureJobs}
          where ${erasureJobs.status} <> 'done' and ${erasureJobs.dueAt} <= ${ts(at)}
            and (${erasureJobs.status} = 'pending' or ${erasureJobs.leaseUntil} < ${ts(at)})
            ${requestId ? sql`and ${erasureJobs.requestId} = ${requestId}` : sql``}
          order by ${erasureJobs.dueAt} limit 1 for update skip locked)
        returning request_id, progress`)) as unknown;
      const job = resultRows<{ request_id: string; progress: Record<string, { erased: number; kept: { count: number; reason: string }[] }> }>(claimed)[0];
      if (!job) return completed;
      try {
        if (await this.#erase(job.request_id, job.progress ?? {})) completed++;
      } catch (error) {
        // The lease runs out and the job is claimed again; every handler is idempotent.
        this.#c.log.error({ err: errorCodes(error), requestId: job.request_id }, 'data rights: an erasure step failed; the job will be retried');
        return completed;
      }
    }
  }

  /** Runs a claimed job; false when it had to wait (a legal hold). */
  async #erase(requestId: string, progress: Record<string, { erased: number; kept: { count: number; reason: string }[] }>): Promise<boolean> {
    const row = await this.#row(requestId);
    const ref = row && this.#ref(row);
    if (!row || !ref) {
      await this.#c.db.update(erasureJobs).set({ status: 'done', completedAt: this.#now() }).where(eq(erasureJobs.requestId, requestId));
      return true;
    }
    // A legal hold keeps the subject's data: the purge waits (checked again in an hour), said once
    // in the request's history and in the audit log; the receipt comes when the hold is released.
    if (!Object.keys(progress).length && (await this.#c.isHeld?.(ref))) {
      const at = this.#now();
      await this.#c.db.update(erasureJobs).set({ status: 'pending', leaseUntil: null, dueAt: new Date(at.getTime() + 3_600_000) }).where(eq(erasureJobs.requestId, requestId));
      if (row.history.at(-1)?.event !== 'held') {
        await this.#c.db.update(requests).set({ history: appendHistory({ status: row.status, at: at.toISOString(), by: 'system', event: 'held', note: 'a legal hold keeps this subject; the purge waits for its release' }) }).where(eq(requests.id, requestId));
        await this.#event('data_rights.erasure.held', row);
      }
      return false;
    }
    for (const handler of this.#c.handlers(ref.kind)) {
      if (progress[handler.name]) continue;
      const result = await handler.eraseSubject(ref);
      progress[handler.name] = { erased: result.erased, kept: (result.kept ?? []).filter((k) => k.count > 0) };
      await this.#c.db.update(erasureJobs).set({ progress, leaseUntil: new Date(this.#c.now() + this.#c.leaseMs) }).where(eq(erasureJobs.requestId, requestId));
    }
    // This package's own records of the subject: other requests keep only their hash.
    if (ref.kind === 'account') {
      await this.#c.db.delete(restrictions).where(eq(restrictions.accountId, ref.accountId));
      const others = await this.#c.db.select({ id: exportsTable.id }).from(exportsTable).innerJoin(requests, eq(requests.id, exportsTable.requestId)).where(eq(requests.accountId, ref.accountId));
      for (const e of others) await deleteExport(this.#c.db, this.#c.keyStore, e.id);
    }
    const completedAt = this.#now();
    const unsigned = {
      requestId,
      subjectHash: row.subjectHash,
      completedAt: completedAt.toISOString(),
      handlers: Object.entries(progress).map(([name, p]) => ({
        name,
        erased: p.erased,
        kept: p.kept.reduce((n, k) => n + k.count, 0),
        ...(p.kept.length ? { keptReason: p.kept.map((k) => k.reason).join('; ') } : {}),
      })),
    };
    const receipt: Receipt = { ...unsigned, ...this.#c.signingKeys.sign(unsigned) };
    await this.#c.db.transaction(async (tx) => {
      await tx.insert(journal).values({ requestId, subjectKind: ref.kind, subjectHash: row.subjectHash, erasedAt: completedAt }).onConflictDoNothing();
      await tx.update(erasureJobs).set({ status: 'done', completedAt, leaseUntil: null }).where(eq(erasureJobs.requestId, requestId));
      if (ref.kind === 'account') {
        // Every request about the account (and its contacts) keeps only its hash from now on.
        await tx.update(requests).set({ accountId: null, phone: null, email: null, details: null }).where(and(eq(requests.accountId, ref.accountId), sql`${requests.id} <> ${requestId}`));
      }
    });
    // The receipt goes to the audit log without a subject: the log's events of the subject were
    // just erased, and this one names it only by its keyed hash.
    await this.#c.record({ action: 'data_rights.erasure.completed', resource: `privacy-request:${requestId}`, outcome: 'success', details: { receipt }, durability: 'sync' });
    await this.#c.db
      .update(requests)
      .set({ status: 'fulfilled', receipt, history: appendHistory({ status: 'fulfilled', at: completedAt.toISOString(), by: 'system', event: 'purged' }), accountId: null, phone: null, email: null, details: null, updatedAt: completedAt })
      .where(eq(requests.id, requestId));
    return true;
  }

  /**
   * The deadline alerts, each raised exactly once across replicas (the row is marked in the same
   * statement that finds it), and the expiry of emailed requests never verified.
   */
  async checkDeadlines(): Promise<{ dueSoon: number; overdue: number; expired: number }> {
    const at = this.#now();
    // Unverified emailed requests expire first: an expired request raises no alert.
    const unverified = await this.#c.db
      .select()
      .from(requests)
      .where(and(eq(requests.status, 'open'), isNull(requests.verification), lte(requests.receivedAt, new Date(at.getTime() - this.#c.verifyWithinDays * DAY))));
    let expired = 0;
    for (const row of unverified) {
      try {
        await this.#move(row, 'expired', 'system', {}, { note: 'not verified in time' });
        expired++;
      } catch (error) {
        if ((error as { code?: string }).code !== 'HF_DATA_RIGHTS_INVALID_TRANSITION') throw error;
      }
    }
    const due = sql`coalesce(${requests.extendedDueAt}, ${requests.dueAt})`;
    const open = inArray(requests.status, ['open', 'in_progress']);
    const soon = await this.#c.db
      .update(requests)
      .set({ dueSoonAlertedAt: at })
      .where(and(open, isNull(requests.dueSoonAlertedAt), sql`${due} <= ${ts(new Date(at.getTime() + this.#c.dueSoonDays * DAY))}`, sql`${due} > ${ts(at)}`))
      .returning();
    const late = await this.#c.db.update(requests).set({ overdueAlertedAt: at }).where(and(open, isNull(requests.overdueAlertedAt), sql`${due} <= ${ts(at)}`)).returning();
    for (const [action, rows] of [
      ['data_rights.request.due_soon', soon],
      ['data_rights.request.overdue', late],
    ] as const) {
      for (const row of rows) {
        await this.#event(action, row, { dueAt: effectiveDue(row).toISOString() }, 'failure');
        this.#c.log.warn({ requestId: row.id, kind: row.kind, dueAt: effectiveDue(row).toISOString(), alert: action }, `data rights: request ${action === 'data_rights.request.overdue' ? 'overdue' : 'due within days'}`);
        await this.#c.onAlert?.({ action, request: await this.view(row) });
      }
    }
    return { dueSoon: soon.length, overdue: late.length, expired };
  }

  /** Expired and downloaded exports removed with their keys. */
  sweepExports(): Promise<number> {
    return sweepExports(this.#c.db, this.#c.keyStore, this.#now());
  }

  /** Restarts what a crash interrupted: access requests in progress with no export yet. */
  async resumeExports(): Promise<number> {
    const stuck = await this.#c.db
      .select()
      .from(requests)
      .where(and(inArray(requests.kind, ['access', 'portability']), eq(requests.status, 'in_progress'), lt(requests.updatedAt, new Date(this.#c.now() - this.#c.leaseMs))))
      .orderBy(asc(requests.id))
      .limit(20);
    for (const row of stuck) await this.#export(row);
    return stuck.length;
  }

  /**
   * An erasure another package decides on (the age gate's minor erasure, policy §8): one deletion
   * request filed by the admin and run by the same job, at `dueAt` (at once when it is due: the
   * call returns when it is done). Idempotent: a deletion of the subject already filed, running or
   * done is the one that counts. No existence check: the subject may already be gone.
   */
  async scheduleErasure(accountId: string, job: { dueAt: Date; reason: string }): Promise<void> {
    const ref: SubjectRef = { kind: 'account', accountId };
    const hash = subjectHash(this.#c.subjectKey, ref);
    const [existing] = await this.#c.db
      .select()
      .from(requests)
      .where(and(eq(requests.subjectHash, hash), eq(requests.kind, 'deletion'), inArray(requests.status, ['open', 'in_progress', 'fulfilled'])))
      .orderBy(desc(requests.id))
      .limit(1);
    let id = existing?.id;
    if (!existing) {
      const at = this.#now();
      const history: HistoryEntry[] = [
        { status: 'open', at: at.toISOString(), by: 'admin', note: job.reason.slice(0, 500) },
        { status: 'in_progress', at: at.toISOString(), by: 'system', event: 'purge-scheduled', note: `purge at ${job.dueAt.toISOString()}` },
      ];
      const row = await this.#insert({ kind: 'deletion', subject: ref, hash, status: 'in_progress', filedBy: 'admin', verification: 'reported by the age gate', history }, at);
      id = row.id;
      await this.#c.db.insert(erasureJobs).values({ requestId: id, status: 'pending', dueAt: job.dueAt, progress: {} }).onConflictDoNothing();
      await this.#event('data_rights.request.received', row!, { filedBy: 'admin', via: 'age-gate' });
    } else if (existing.status === 'fulfilled') return;
    if (job.dueAt.getTime() <= this.#c.now()) await this.runDueErasures(id);
  }

  /** The state of the latest erasure of an account (the age gate's report answers with it). */
  async erasureState(accountId: string): Promise<{ status: 'pending' | 'running' | 'done'; completedAt: Date | null; counts: Record<string, number> | null } | null> {
    const hash = subjectHash(this.#c.subjectKey, { kind: 'account', accountId });
    const [row] = await this.#c.db
      .select()
      .from(requests)
      .where(and(eq(requests.subjectHash, hash), eq(requests.kind, 'deletion'), inArray(requests.status, ['in_progress', 'fulfilled'])))
      .orderBy(desc(requests.id))
      .limit(1);
    if (!row) return null;
    if (row.status === 'fulfilled' && row.receipt) {
      return { status: 'done', completedAt: new Date(row.receipt.completedAt), counts: Object.fromEntries(row.receipt.handlers.map((h) => [h.name, h.erased])) };
    }
    const [job] = await this.#c.db.select({ status: erasureJobs.status }).from(erasureJobs).where(eq(erasureJobs.requestId, row.id));
    return { status: job?.status === 'running' ? 'running' : 'pending', completedAt: null, counts: null };
  }

  /** Every erasure recorded in the journal, oldest first: what `hf-rights export-journal` writes. */
  async *journal(): AsyncGenerator<{ requestId: string; subjectKind: string; subjectHash: string; erasedAt: string }> {
    let after = '';
    for (;;) {
      const page = await this.#c.db.select().from(journal).where(sql`${journal.requestId} > ${after || '00000000-0000-0000-0000-000000000000'}`).orderBy(asc(journal.requestId)).limit(1000);
      for (const row of page) yield { requestId: row.requestId, subjectKind: row.subjectKind, subjectHash: row.subjectHash, erasedAt: row.erasedAt.toISOString() };
      if (page.length < 1000) return;
      after = page.at(-1)!.requestId;
    }
  }

  /**
   * After a backup is restored: every candidate subject (the restored accounts, their contacts)
   * whose keyed hash is in `hashes` (the journal, or a copy of it kept outside the backup) is erased
   * again through every handler, and the restored requests about it keep only their hash again.
   */
  async reapplyErasures(candidates: AsyncIterable<SubjectRef> | Iterable<SubjectRef>, hashes?: Iterable<string>): Promise<{ checked: number; matched: number; erased: Record<string, number> }> {
    const known = new Set<string>(hashes ?? []);
    if (!hashes) for await (const entry of this.journal()) known.add(entry.subjectHash);
    const erased: Record<string, number> = {};
    let checked = 0;
    let matched = 0;
    for await (const ref of candidates) {
      checked++;
      const hash = subjectHash(this.#c.subjectKey, ref);
      if (!known.has(hash)) continue;
      matched++;
      for (const handler of this.#c.handlers(ref.kind)) erased[handler.name] = (erased[handler.name] ?? 0) + (await handler.eraseSubject(ref)).erased;
      await this.#c.db.update(requests).set({ accountId: null, phone: null, email: null, details: null }).where(eq(requests.subjectHash, hash));
      if (ref.kind === 'account') {
        await this.#c.db.update(requests).set({ accountId: null, phone: null, email: null, details: null }).where(eq(requests.accountId, ref.accountId));
        await this.#c.db.delete(restrictions).where(eq(restrictions.accountId, ref.accountId));
      }
      await this.#c.record({ action: 'data_rights.erasure.reapplied', resource: `subject-hash:${hash}`, outcome: 'success', durability: 'sync' });
    }
    return { checked, matched, erased };
  }

  /** The data-rights package's own personal data (its requests about the subject). */
  personalData(): PersonalDataHandler {
    return {
      name: 'data_rights',
      identifiers: ['account', 'contact', 'email'],
      exportSubject: async (ref) => {
        const rows = await this.#c.db.select().from(requests).where(eq(requests.subjectHash, subjectHash(this.#c.subjectKey, ref)));
        return { requests: rows.map((r) => ({ id: r.id, kind: r.kind, status: r.status, receivedAt: r.receivedAt.toISOString(), history: r.history })) };
      },
      // Requests are the proof that the rights were answered: their identifiers go (the job does
      // it for the whole account at its end), their hashes and history stay, and say so.
      eraseSubject: async (ref) => {
        const [{ n } = { n: 0 }] = await this.#c.db
          .select({ n: sql<number>`count(*)::int` })
          .from(requests)
          .where(eq(requests.subjectHash, subjectHash(this.#c.subjectKey, ref)));
        return { erased: 0, kept: [{ count: Number(n), reason: 'privacy requests (policy §6): kept as a keyed hash of the subject with their history, the proof that each was answered' }] };
      },
    };
  }
}

