/**
 * The consent ledger in `consent.records`. A person's own decisions (PUT, DELETE) are written before
 * the response is sent: the 200 means the decision is recorded. Decisions the server makes on its
 * own (GPC applied, continued use) are queued and written in batches, off the request path.
 */
import { errorCodes, type PersonalDataHandler } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyBaseLogger } from 'fastify';
import { asc, eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { records } from './schema.js';

export type LedgerAction = 'grant' | 'refuse' | 'withdraw' | 'reaccept' | 'gpc' | 'continued-use';

export interface LedgerEntry {
  consentId: string;
  subjectId: string | undefined;
  action: LedgerAction;
  source: 'user' | 'gpc' | 'continued-use';
  policyVersion: string;
  categories: string[];
  ip: string | undefined;
  userAgent: string | undefined;
  at: Date;
}

const MAX_USER_AGENT = 512;
const MAX_QUEUE = 10_000;
const SEEN_CAP = 10_000;

function row(entry: LedgerEntry) {
  return {
    id: randomUUID(),
    consentId: entry.consentId,
    subjectId: entry.subjectId ?? null,
    action: entry.action,
    source: entry.source,
    policyVersion: entry.policyVersion,
    categories: entry.categories,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
    createdAt: entry.at,
  };
}

export class ConsentLedger {
  readonly #db: Database;
  readonly #log: FastifyBaseLogger;
  readonly #intervalMs: number;
  #queue: ReturnType<typeof row>[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  // (subject, version) pairs whose continued use is already recorded: spares a write per request
  // for API clients that keep no cookie. The unique index makes it exact across replicas.
  readonly #continuedUse = new Set<string>();

  constructor(db: Database, log: FastifyBaseLogger, intervalMs = 250) {
    this.#db = db;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** The consent ids a subject ever decided under. */
  async consentIdsOf(subjectId: string): Promise<string[]> {
    await this.flush();
    const rows = await this.#db
      .selectDistinct({ consentId: records.consentId })
      .from(records)
      .where(eq(records.subjectId, subjectId));
    return rows.map((r) => r.consentId);
  }

  /** Appends now; resolves once committed. */
  async append(entry: LedgerEntry): Promise<void> {
    await this.#db.insert(records).values(row(entry));
  }

  /** Appends in the next batch. Bounded: past MAX_QUEUE pending rows the newest are dropped, loudly. */
  enqueue(entry: LedgerEntry): void {
    if (entry.action === 'continued-use') {
      const key = `${entry.subjectId}\u0000${entry.policyVersion}`;
      if (this.#continuedUse.has(key)) return;
      if (this.#continuedUse.size >= SEEN_CAP) this.#continuedUse.clear();
      this.#continuedUse.add(key);
    }
    if (this.#queue.length >= MAX_QUEUE) {
      this.#log.error({ action: entry.action }, 'consent ledger queue full: decision not recorded');
      return;
    }
    this.#queue.push(row(entry));
    this.#timer ??= setTimeout(() => void this.flush(), this.#intervalMs);
  }

  /** Writes everything queued (one statement per batch). Failed batches stay queued for the next try. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#flushing) await this.#flushing;
    if (!this.#queue.length) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#flushing = this.#db
      .insert(records)
      .values(batch)
      .onConflictDoNothing()
      .then(
        () => undefined,
        (error: unknown) => {
          this.#log.error({ err: errorCodes(error), rows: batch.length }, 'consent ledger write failed; will retry');
          this.#queue = batch.concat(this.#queue).slice(0, MAX_QUEUE);
          this.#timer ??= setTimeout(() => void this.flush(), this.#intervalMs * 8);
        },
      )
      .finally(() => {
        this.#flushing = undefined;
      });
    await this.#flushing;
  }

  close(): Promise<void> {
    return this.flush();
  }

  /** The subject's ledger rows, oldest first. */
  async rowsOf(subjectId: string) {
    return this.#db.select().from(records).where(eq(records.subjectId, subjectId)).orderBy(asc(records.createdAt));
  }
}

/** Personal-data handler (contract item 5): export and erase a subject's ledger rows. */
export function consentPersonalData(db: Database, ledger: ConsentLedger): PersonalDataHandler {
  return {
    name: 'consent',
    identifiers: ['account'],
    // A legal hold on the subject for this class keeps the ledger rows through an erasure.
    retentionClasses: ['consent_ledger'],
    async exportSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      await ledger.flush();
      const rows = await ledger.rowsOf(subjectId);
      return {
        records: rows.map((r) => ({
          consentId: r.consentId,
          action: r.action,
          source: r.source,
          policyVersion: r.policyVersion,
          categories: r.categories,
          ip: r.ip,
          userAgent: r.userAgent,
          at: r.createdAt.toISOString(),
        })),
      };
    },
    async eraseSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      await ledger.flush();
      // The one way past the append-only trigger (drizzle/0002): a least-privilege role holds
      // EXECUTE on it and no DELETE on the table.
      const result = (await db.execute(sql`select consent.erase_subject(${subjectId}) as erased`)) as unknown as
        { erased: number }[] | { rows: { erased: number }[] };
      const row = Array.isArray(result) ? result[0] : result.rows[0];
      return { erased: Number(row?.erased ?? 0) };
    },
  };
}
