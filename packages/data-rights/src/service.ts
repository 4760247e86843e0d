/**
 * The rights requests of policy §6 as data, without Fastify: filing, checked transitions with a
 * history (ledger.ts), the 30-day clock and its one extension, the erasure job (erasure.ts: progress
 * per handler in the database, claimed with a lease, resumable) ending in a signed receipt,
 * exports, restriction and the deadline alerts (deadlines.ts). The plugin wires it to the app;
 * workers and the CLI use it directly.
 */
import type { PersonalDataHandler, RetentionBatch, RetentionStep, SubjectRef } from '@harakaflow/core';
import { and, eq, sql } from 'drizzle-orm';
import { checkDeadlines } from './deadlines.js';
import { Erasures } from './erasure.js';
import { erasureJournal, reapplyErasures } from './erasure-journal.js';
import { erasureState, scheduleErasure } from './erasure-scheduled.js';
import { InvalidRequest, InvalidTransition, RequestNotFound } from './errors.js';
import { fileRequest } from './filing.js';
import { Intake } from './intake.js';
import { Ledger, type Row } from './ledger.js';
import { requestsPersonalData } from './personal-data.js';
import { classifyKind, extendRequest, getRequest, verifyRequest } from './request-admin.js';
import { downloadExport, exportLink, resendExport, resumeExports } from './request-export.js';
import { liftRestriction } from './restriction.js';
import { purgeClosedRequests } from './retention.js';
import { erasureJobs, restrictions } from './schema.js';
import { findExport, sweepExports } from './storage.js';
import type { Actor, DataRightsConfig, FileInput, FilingKind, ListFilter, RightsRequest } from './types.js';

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
    this.intake = new Intake(this.#l);
  }

  /** The API's view of a request (issue 14 item 7's shape). */
  view(row: Row): Promise<RightsRequest> {
    return this.#l.view(row);
  }

  /**
   * A request, or HF_DATA_RIGHTS_NOT_FOUND; `accountId` limits it to that account's own (404
   * otherwise) and only then shows a live export's link: the admin's view (no `accountId`) never does.
   */
  get(id: string, accountId?: string): Promise<RightsRequest> {
    return getRequest(this.#l, id, accountId);
  }

  /**
   * The live export link of a request, or null (request-export.ts): for the message that sends it, never shown to the
   * admin.
   */
  exportLink(id: string): Promise<{ url: string; expiresAt: string } | null> {
    return exportLink(this.#l, id);
  }

  /**
   * The administrator sends a live export link to the person again, never seeing it (request-export.ts). A used or
   * expired link: 410.
   */
  resendExport(id: string): Promise<RightsRequest> {
    return resendExport(this.#l, id);
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

  /** Files a request (filing.ts). A second open deletion of the same subject answers the first (idempotent). */
  file(input: FileInput): Promise<RightsRequest> {
    return fileRequest(this.#l, input);
  }

  /**
   * An administrator records how an emailed request's requester was verified (`self`: the requester entered the emailed
   * code); the request starts.
   */
  verify(id: string, verification: string, by: 'admin' | 'self' = 'admin'): Promise<RightsRequest> {
    return verifyRequest(this.#l, id, verification, by);
  }

  /** The admin gives an `unclassified` request (one read from the privacy mailbox) its kind (request-admin.ts). */
  classify(id: string, kind: FilingKind): Promise<RightsRequest> {
    return classifyKind(this.#l, id, kind);
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
  extend(id: string, days: number, reason: string): Promise<RightsRequest> {
    return extendRequest(this.#l, id, days, reason);
  }

  /**
   * Requests newest first: an account's own (with their export links), or the admin queue (never a link);
   * keyset-paginated.
   */
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
  download(token: string, format: 'json' | 'zip' = 'json'): ReturnType<typeof downloadExport> {
    return downloadExport(this.#l, token, format);
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

  /**
   * Erases what legal holds kept through an erasure, once no hold covers it (every sweep); returns the parts erased.
   */
  releaseHeldErasures(): Promise<number> {
    return this.#erasures.releaseHeld();
  }

  /** An erasure another package decides on (the age gate's minor erasure, policy §8). */
  scheduleErasure(accountId: string, job: { dueAt: Date; reason: string }): Promise<void> {
    return scheduleErasure(this.#l, accountId, job, (id) => this.#erasures.runDueErasures(id));
  }

  /** The state of the latest erasure of an account (the age gate's report answers with it). */
  erasureState(accountId: string): ReturnType<typeof erasureState> {
    return erasureState(this.#l, accountId);
  }

  /** Every erasure recorded in the journal, oldest first: what `hf-rights export-journal` writes. */
  journal(): ReturnType<typeof erasureJournal> {
    return erasureJournal(this.#c.db);
  }

  /** After a backup is restored: the journal's subjects erased again (erasure.ts). */
  reapplyErasures(
    candidates: AsyncIterable<SubjectRef> | Iterable<SubjectRef>,
    hashes?: Iterable<string>,
  ): ReturnType<typeof reapplyErasures> {
    return reapplyErasures(this.#l, candidates, hashes);
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
  resumeExports(): Promise<number> {
    return resumeExports(this.#l);
  }

  /**
   * One batch of the `rights_requests` retention class: closed requests past their period, with their messages
   * (retention.ts).
   */
  purgeClosed(batch: RetentionBatch): Promise<RetentionStep> {
    return purgeClosedRequests(this.#c, batch);
  }

  /** The data-rights package's own personal data (its requests about the subject). */
  personalData(): PersonalDataHandler {
    return requestsPersonalData(this.#c);
  }
}
