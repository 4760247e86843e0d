/**
 * The rights requests of policy §6 as data, without Fastify: filing, checked transitions with a
 * history (ledger.ts), the 30-day clock and its one extension, the erasure job (erasure.ts: progress
 * per handler in the database, claimed with a lease, resumable) ending in a signed receipt,
 * exports, restriction and the deadline alerts (deadlines.ts). The plugin wires it to the app;
 * workers and the CLI use it directly.
 */
import type { PersonalDataHandler, RetentionBatch, RetentionStep, SubjectRef } from '@harakaflow/core';
import { isE164, uuidv7 } from '@harakaflow/core';
import { and, asc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import { bundlePieces } from './bundle.js';
import { checkDeadlines } from './deadlines.js';
import { Erasures } from './erasure.js';
import {
  AlreadyExtended,
  ExportGone,
  InvalidRequest,
  InvalidTransition,
  RequestNotFound,
  SubjectNotFound,
} from './errors.js';
import { appendHistory, DAY, hasExport, Ledger, type Row } from './ledger.js';
import { Intake } from './intake.js';
import { liftRestriction } from './restriction.js';
import { erasureJobs, requests, restrictions } from './schema.js';
import { claimExport, exportToken, findExport, readExport, storeExport, sweepExports } from './storage.js';
import { checkLanguage, checkSubject, EMAIL_ADDRESS, subjectHash } from './subject.js';
import { requestsPersonalData } from './personal-data.js';
import { purgeClosedRequests } from './retention.js';
import { zipFromRanges } from './zip.js';
import {
  REQUEST_KINDS,
  type Actor,
  type DataRightsConfig,
  type FileInput,
  type FilingKind,
  type ListFilter,
  type RightsRequest,
} from './types.js';

export { uuidv7 } from '@harakaflow/core';

export class DataRights {
  readonly #c: DataRightsConfig;
  readonly #l: Ledger;
  readonly #erasures: Erasures;
  /** Requests from people without an API key: the public form's codes and the privacy mailbox (issue 32). */
  readonly intake: Intake;

  constructor(config: DataRightsConfig) {
    this.#c = config;
    this.#l = new Ledger(config);
    this.#erasures = new Erasures(this.#l);
    this.intake = new Intake(this.#l, this);
  }

  /** The API's view of a request (issue 14 item 7's shape). */
  view(row: Row): Promise<RightsRequest> {
    return this.#l.view(row);
  }

  /**
   * A request, or HF_DATA_RIGHTS_NOT_FOUND; `accountId` limits it to that account's own (404
   * otherwise) and only then shows a live export's link: the admin's view (no `accountId`) never does.
   */
  async get(id: string, accountId?: string): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row || (accountId !== undefined && row.accountId !== accountId)) throw new RequestNotFound();
    return this.#l.view(row, undefined, accountId !== undefined);
  }

  /**
   * The live export link of a request (null when it has none, or it was used or expired): for the
   * message that sends it to the person, read when the message is sent, never shown to the admin.
   */
  async exportLink(id: string): Promise<{ url: string; expiresAt: string } | null> {
    const row = await this.#l.row(id);
    if (!row || !hasExport(row)) return null;
    const file = (await this.#l.exportsOf([row.id])).get(row.id);
    if (!file || file.downloadedAt || file.expiresAt <= this.#l.now()) return null;
    const token = await exportToken(this.#c.keyStore, file.id);
    return token ? { url: `/v1/privacy/exports/${token}`, expiresAt: file.expiresAt.toISOString() } : null;
  }

  /**
   * The administrator sends a live export link to the person again (the admin never sees it): the
   * request's history (`export-resent`), the audit log (`data_rights.export.resent`) and the update
   * notification, whose message reads the link when it is sent. A used or expired link: 410.
   */
  async resendExport(id: string): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row) throw new RequestNotFound();
    if (!hasExport(row))
      throw new InvalidRequest('only a fulfilled access or portability request has an export link to send');
    const file = (await this.#l.exportsOf([row.id])).get(row.id);
    if (!file || file.downloadedAt || file.expiresAt <= this.#l.now()) throw new ExportGone();
    const at = this.#l.now();
    const [resent] = await this.#c.db
      .update(requests)
      .set({
        history: appendHistory({
          status: row.status,
          at: at.toISOString(),
          by: 'admin',
          event: 'export-resent',
          note: `link valid until ${file.expiresAt.toISOString()}`,
        }),
        updatedAt: at,
      })
      .where(eq(requests.id, row.id))
      .returning();
    await this.#l.event('data_rights.export.resent', resent!, { expiresAt: file.expiresAt.toISOString() });
    await this.#l.notify(resent!);
    return this.#l.view(resent!);
  }

  /**
   * Lifts a restriction in force (issue 30 item 10): by the account itself (`accountId`: its own
   * request only, else 404) or by an administrator, with a reason. Audited and notified.
   */
  async lift(
    id: string,
    by: 'self' | 'admin',
    options: { accountId?: string | undefined; reason?: string | undefined } = {},
  ): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row || (options.accountId !== undefined && row.accountId !== options.accountId)) throw new RequestNotFound();
    return this.#l.view(
      await liftRestriction(this.#l, row, by, options.reason),
      undefined,
      options.accountId !== undefined,
    );
  }

  /** Files a request. A second open deletion of the same subject answers the first (idempotent). */
  async file(input: FileInput): Promise<RightsRequest> {
    // `unclassified` only for a request that waits for the admin anyway (one read from the privacy mailbox).
    if (
      !(REQUEST_KINDS as readonly string[]).includes(input.kind) &&
      !(input.kind === 'unclassified' && input.verification === null)
    )
      throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
    const subject = checkSubject(input.subject);
    if (input.contact != null && !isE164(input.contact))
      throw new InvalidRequest('A contact is an E.164 phone number (+ and at most 15 digits)');
    const lang = checkLanguage(input.lang);
    if (input.id !== undefined) {
      const filed = await this.#l.row(input.id);
      if (filed) return this.#l.view(filed);
    }
    if (input.details != null && (typeof input.details !== 'string' || input.details.length > 2000))
      throw new InvalidRequest('details is text of at most 2000 characters');
    if (
      input.manual !== undefined &&
      (typeof input.manual !== 'boolean' ||
        (input.manual && (input.kind !== 'withdraw_consent' || input.verification === null)))
    ) {
      throw new InvalidRequest('manual is for a withdraw_consent request verified when filed');
    }
    if (
      input.verification !== null &&
      (typeof input.verification !== 'string' || !input.verification.trim() || input.verification.length > 500)
    ) {
      throw new InvalidRequest('verification says how the requester was verified, in at most 500 characters');
    }
    if (subject.kind !== 'email' && !(await this.#c.accountExists(subject.accountId))) throw new SubjectNotFound();
    // Who is told of every step besides the account (issue 30 items 8, 9): the address an emailed
    // request came from, or the account's own when it files its deletion (the receipt reaches it
    // after the account is gone).
    const given = input.replyTo === false ? null : (input.replyTo ?? (subject.kind === 'email' ? subject.email : null));
    if (given !== null && (typeof given !== 'string' || !EMAIL_ADDRESS.test(given)))
      throw new InvalidRequest('replyTo is an email address');
    const replyTo =
      input.replyTo === false
        ? null
        : given !== null
          ? given.toLowerCase()
          : input.kind === 'deletion' && subject.kind === 'account'
            ? ((await this.#c.addressOf?.(subject.accountId)) ?? null)
            : null;
    const hash = subjectHash(this.#c.subjectKey, subject);
    if (input.kind === 'deletion') {
      const [existing] = await this.#c.db
        .select()
        .from(requests)
        .where(
          and(
            eq(requests.subjectHash, hash),
            eq(requests.kind, 'deletion'),
            inArray(requests.status, ['open', 'in_progress']),
          ),
        )
        .limit(1);
      if (existing) return this.#l.view(existing);
    }
    const now = this.#l.now();
    // The clock runs from receipt (a message's arrival, a form's submission), never from the future.
    const at = input.receivedAt && input.receivedAt.getTime() < now.getTime() ? input.receivedAt : now;
    const row = await this.#l.insert(
      {
        ...input,
        subject,
        hash,
        replyTo,
        lang,
        status: 'open',
        history: [{ status: 'open', at: now.toISOString(), by: input.filedBy }],
      },
      at,
    );
    // Filed meanwhile under the id its intake chose: that one stands, told once.
    if (!row) return this.#l.view((await this.#l.row(input.id!))!);
    await this.#l.event('data_rights.request.received', row, {
      filedBy: input.filedBy,
      verified: input.verification !== null,
    });
    if (!input.silent) await this.#l.notify(row);
    // A request awaiting verification waits for the admin; the others start now. The account's own
    // request shows it its export link; one the admin filed does not (the person gets it by email).
    // A manual one (a consent outside the ledger) waits for the admin, as an objection does.
    return this.#l.view(
      input.verification === null || input.manual ? row : await this.#start(row),
      undefined,
      input.filedBy === 'self',
    );
  }

  /** What each kind does once the requester is verified. */
  async #start(row: Row): Promise<Row> {
    const by: Actor = 'system';
    switch (row.kind) {
      case 'deletion': {
        const purgeAt = new Date(this.#c.now() + this.#c.purgeAfterDays * DAY);
        // A contact's number or an email has no account to hold back: erased at once.
        const dueAt = row.subjectKind === 'account' ? purgeAt : this.#l.now();
        await this.#c.db
          .insert(erasureJobs)
          .values({ requestId: row.id, status: 'pending', dueAt, progress: {} })
          .onConflictDoNothing();
        if (row.subjectKind === 'account') await this.#c.onPendingDeletion?.(row.accountId!, true);
        const moved = await this.#l.move(
          row,
          'in_progress',
          by,
          {},
          { event: 'purge-scheduled', note: `purge at ${dueAt.toISOString()}` },
        );
        // Due now: run once the request that filed it has been answered (and its own access event
        // queued), so the purge reaches that event too.
        if (dueAt.getTime() <= this.#c.now()) this.#c.kick?.();
        return moved;
      }
      case 'access':
      case 'portability': {
        const moved = await this.#l.move(row, 'in_progress', by, {}, { event: 'export-started' });
        return this.#export(moved);
      }
      case 'restriction': {
        if (row.subjectKind !== 'account')
          return this.#l.move(row, 'denied', by, {}, { note: 'restriction applies to an account' });
        await this.#c.db
          .insert(restrictions)
          .values({ accountId: row.accountId!, requestId: row.id, since: this.#l.now() })
          .onConflictDoNothing();
        return this.#l.move(row, 'fulfilled', by, {}, { event: 'restricted' });
      }
      case 'withdraw_consent': {
        if (row.subjectKind !== 'account' || !this.#c.withdrawConsent) return row;
        const written = await this.#c.withdrawConsent(row.accountId!);
        return this.#l.move(
          row,
          'fulfilled',
          by,
          {},
          { event: 'consent-withdrawn', note: `${written} ledger record(s)` },
        );
      }
      // Correction of an email and objection go to the admin queue as they are.
      default:
        return row;
    }
  }

  /** Builds, encrypts and stores the export, then fulfils the request with its one-time link. */
  async #export(row: Row): Promise<Row> {
    const ref = this.#l.ref(row)!;
    const at = this.#l.now();
    const id = uuidv7(at.getTime());
    const expiresAt = new Date(at.getTime() + this.#c.exportTtlHours * 3_600_000);
    const handlers = this.#c.handlers(ref.kind);
    await storeExport(
      this.#c.db,
      this.#c.keyStore,
      { id, requestId: row.id, expiresAt, now: at },
      bundlePieces(row.id, ref, handlers, this.#c.signingKeys, () => this.#l.now(), this.#c.article15),
    );
    return this.#l.move(
      row,
      'fulfilled',
      'system',
      {},
      { event: 'export-ready', note: `link valid until ${expiresAt.toISOString()}` },
    );
  }

  /** An administrator records how an emailed request's requester was verified (`self`: the requester entered the emailed code); the request starts. */
  async verify(id: string, verification: string, by: 'admin' | 'self' = 'admin'): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row) throw new RequestNotFound();
    if (typeof verification !== 'string' || !verification.trim() || verification.length > 500)
      throw new InvalidRequest('verification says how the requester was verified');
    if (row.status !== 'open' || row.verification !== null) throw new InvalidTransition(row.status, 'in_progress');
    const at = this.#l.now();
    const [verified] = await this.#c.db
      .update(requests)
      .set({
        verification,
        history: appendHistory({ status: row.status, at: at.toISOString(), by, event: 'verified' }),
        updatedAt: at,
      })
      .where(and(eq(requests.id, row.id), isNull(requests.verification)))
      .returning();
    if (!verified) throw new InvalidTransition(row.status, 'in_progress');
    const started = await this.#start(verified);
    // A kind the admin carries out (an objection, a correction) stays open: the requester is still
    // told it is being worked on (issue 30 item 9); the others were told by their move.
    if (started === verified) await this.#l.notify(started);
    return this.#l.view(started);
  }

  /**
   * The admin gives an `unclassified` request (one read from the privacy mailbox) its kind: history
   * `classified`, audited; a request already verified then starts as that kind does.
   */
  async classify(id: string, kind: FilingKind): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row) throw new RequestNotFound();
    if (!(REQUEST_KINDS as readonly string[]).includes(kind))
      throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
    if (row.kind !== 'unclassified' || row.status !== 'open')
      throw new InvalidTransition(`${row.status} (${row.kind})`, kind);
    const at = this.#l.now();
    const [classified] = await this.#c.db
      .update(requests)
      .set({
        kind,
        history: appendHistory({ status: 'open', at: at.toISOString(), by: 'admin', event: 'classified', note: kind }),
        updatedAt: at,
      })
      .where(and(eq(requests.id, row.id), eq(requests.kind, 'unclassified'), eq(requests.status, 'open')))
      .returning();
    if (!classified) throw new InvalidTransition(`${row.status} (${row.kind})`, kind);
    await this.#l.event('data_rights.request.classified', classified, { kind });
    return this.#l.view(classified.verification === null ? classified : await this.#start(classified));
  }

  /** Cancels a request that has not been carried out; a deletion's account is restored. */
  async cancel(id: string, by: Actor, accountId?: string): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row || (accountId !== undefined && row.accountId !== accountId)) throw new RequestNotFound();
    if (row.kind === 'deletion' && row.status === 'in_progress') {
      // Only before the purge has begun: a job some handler already ran cannot be undone.
      const gone = await this.#c.db
        .delete(erasureJobs)
        .where(
          and(
            eq(erasureJobs.requestId, row.id),
            eq(erasureJobs.status, 'pending'),
            sql`${erasureJobs.progress} = '{}'::jsonb`,
          ),
        )
        .returning({ id: erasureJobs.requestId });
      if (!gone.length) throw new InvalidTransition('in_progress (purge started)', 'canceled');
      const moved = await this.#l.move(row, 'canceled', by);
      if (row.subjectKind === 'account') await this.#c.onPendingDeletion?.(row.accountId!, false);
      return this.#l.view(moved);
    }
    return this.#l.view(await this.#l.move(row, 'canceled', by));
  }

  async deny(id: string, reason: string): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row) throw new RequestNotFound();
    if (typeof reason !== 'string' || !reason.trim() || reason.length > 2000)
      throw new InvalidRequest('a denial gives its reason');
    if (row.kind === 'deletion' && row.status === 'in_progress')
      return this.cancel(id, 'admin').then(() => this.get(id));
    return this.#l.view(await this.#l.move(row, 'denied', 'admin', {}, { note: reason }));
  }

  /** An administrator fulfils a request handled outside the kit (an objection, an email correction). */
  async fulfil(id: string, note?: string): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row) throw new RequestNotFound();
    if (row.kind === 'deletion' || row.kind === 'access' || row.kind === 'portability') {
      throw new InvalidRequest(`a ${row.kind} request is fulfilled by the kit when its work is done`);
    }
    if (row.status === 'open' && row.verification === null) throw new InvalidRequest('verify the requester first');
    return this.#l.view(await this.#l.move(row, 'fulfilled', 'admin', {}, note ? { note: note.slice(0, 2000) } : {}));
  }

  /** Records a correction applied at once (PATCH /v1/privacy/profile): a fulfilled `correction`. */
  async recordCorrection(accountId: string, fields: string[]): Promise<RightsRequest> {
    const filed = await this.file({
      kind: 'correction',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
      details: `corrected: ${fields.join(', ')}`,
    });
    const row = (await this.#l.row(filed.id))!;
    return this.#l.view(await this.#l.move(row, 'fulfilled', 'self', {}, { event: 'corrected' }));
  }

  /** The one extension (at most 60 days, with a reason): the notice goes to the requester. */
  async extend(id: string, days: number, reason: string): Promise<RightsRequest> {
    const row = await this.#l.row(id);
    if (!row) throw new RequestNotFound();
    if (!Number.isInteger(days) || days < 1 || days > 60) throw new InvalidRequest('an extension is 1 to 60 days');
    if (typeof reason !== 'string' || !reason.trim() || reason.length > 2000)
      throw new InvalidRequest('an extension gives its reason');
    if (row.status !== 'open' && row.status !== 'in_progress') throw new InvalidTransition(row.status, row.status);
    const extendedDueAt = new Date(row.dueAt.getTime() + days * DAY);
    const at = this.#l.now();
    const [moved] = await this.#c.db
      .update(requests)
      .set({
        extendedDueAt,
        extensionReason: reason,
        history: appendHistory({
          status: row.status,
          at: at.toISOString(),
          by: 'admin',
          event: 'extended',
          note: reason,
        }),
        updatedAt: at,
      })
      .where(and(eq(requests.id, row.id), isNull(requests.extendedDueAt)))
      .returning();
    if (!moved) throw new AlreadyExtended();
    await this.#l.event('data_rights.request.extended', moved, { days });
    await this.#l.notify(moved);
    return this.#l.view(moved);
  }

  /** Requests newest first: an account's own (with their export links), or the admin queue (never a link); keyset-paginated. */
  list(filter: ListFilter): Promise<{ requests: RightsRequest[]; nextCursor: string | null }> {
    return this.#l.list(filter);
  }

  /**
   * What an export token opens, read without using it (the download page: GET and HEAD change
   * nothing): its request and expiry, or null when unknown, used or expired.
   */
  peekExport(token: string): Promise<{ requestId: string; expiresAt: Date; size: number } | null> {
    return findExport(this.#c.db, token, this.#l.now());
  }

  /**
   * The one download an export token allows: the JSON document's bytes (`size` known), or a zip
   * with an entry per part and `manifest.json` (size unknown: streamed); then it is deleted.
   */
  async download(
    token: string,
    format: 'json' | 'zip' = 'json',
  ): Promise<{ requestId: string; format: 'json' | 'zip'; size: number | null; body: AsyncGenerator<Buffer> } | null> {
    const claimed = await claimExport(this.#c.db, token, this.#l.now());
    if (!claimed) return null;
    const [row] = await this.#c.db.select().from(requests).where(eq(requests.id, claimed.requestId));
    if (row) await this.#l.event('data_rights.export.downloaded', row, { size: claimed.size, format });
    const body = readExport(this.#c.db, this.#c.keyStore, claimed);
    // An export stored before zips existed has no layout: it is served as JSON whatever was asked.
    if (format === 'zip' && claimed.layout)
      return {
        requestId: claimed.requestId,
        format,
        size: null,
        body: zipFromRanges(body, claimed.layout, this.#l.now()),
      };
    return { requestId: claimed.requestId, format: 'json', size: claimed.size, body };
  }

  /** The public keys of manifests and receipts, as a JWK set (GET /.well-known/harakaflow-signing-keys.json). */
  publicKeys() {
    return this.#c.signingKeys.publicKeys();
  }

  async isRestricted(accountId: string): Promise<boolean> {
    const [row] = await this.#c.db
      .select({ id: restrictions.accountId })
      .from(restrictions)
      .where(eq(restrictions.accountId, accountId));
    return Boolean(row);
  }

  /** Is the account waiting for its purge (a deletion in progress)? */
  pendingDeletion(accountId: string): Promise<boolean> {
    return this.#erasures.pendingDeletion(accountId);
  }

  /** Runs the erasure jobs that are due (or the one named); returns the jobs completed. */
  runDueErasures(requestId?: string): Promise<number> {
    return this.#erasures.runDueErasures(requestId);
  }

  /** Erases what legal holds kept through an erasure, once no hold covers it (every sweep); returns the parts erased. */
  releaseHeldErasures(): Promise<number> {
    return this.#erasures.releaseHeld();
  }

  /** An erasure another package decides on (the age gate's minor erasure, policy §8). */
  scheduleErasure(accountId: string, job: { dueAt: Date; reason: string }): Promise<void> {
    return this.#erasures.scheduleErasure(accountId, job);
  }

  /** The state of the latest erasure of an account (the age gate's report answers with it). */
  erasureState(accountId: string): ReturnType<Erasures['erasureState']> {
    return this.#erasures.erasureState(accountId);
  }

  /** Every erasure recorded in the journal, oldest first: what `hf-rights export-journal` writes. */
  journal(): ReturnType<Erasures['journal']> {
    return this.#erasures.journal();
  }

  /** After a backup is restored: the journal's subjects erased again (erasure.ts). */
  reapplyErasures(
    candidates: AsyncIterable<SubjectRef> | Iterable<SubjectRef>,
    hashes?: Iterable<string>,
  ): ReturnType<Erasures['reapplyErasures']> {
    return this.#erasures.reapplyErasures(candidates, hashes);
  }

  /** The deadline alerts, each raised once across replicas, and the expiry of unverified emailed requests. */
  checkDeadlines(): Promise<{ dueSoon: number; overdue: number; expired: number }> {
    return checkDeadlines(this.#l);
  }

  /** Expired and downloaded exports removed with their keys. */
  sweepExports(): Promise<number> {
    return sweepExports(this.#c.db, this.#c.keyStore, this.#l.now());
  }

  /** Restarts what a crash interrupted: access requests in progress with no export yet. */
  async resumeExports(): Promise<number> {
    const stuck = await this.#c.db
      .select()
      .from(requests)
      .where(
        and(
          inArray(requests.kind, ['access', 'portability']),
          eq(requests.status, 'in_progress'),
          lt(requests.updatedAt, new Date(this.#c.now() - this.#c.leaseMs)),
        ),
      )
      .orderBy(asc(requests.id))
      .limit(20);
    for (const row of stuck) await this.#export(row);
    return stuck.length;
  }

  /** One batch of the `rights_requests` retention class: closed requests past their period, with their messages (retention.ts). */
  purgeClosed(batch: RetentionBatch): Promise<RetentionStep> {
    return purgeClosedRequests(this.#c, batch);
  }

  /** The data-rights package's own personal data (its requests about the subject). */
  personalData(): PersonalDataHandler {
    return requestsPersonalData(this.#c);
  }
}
