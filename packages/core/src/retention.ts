/**
 * The registries of retention (policy §4, ARCHITECTURE contract 5b and 5d): the classes a package
 * keeps data under (name, the policy's clause, the period, how to purge a batch), and the legal
 * holds that keep a subject's rows past their period. Packages register here, so none depends on
 * `@harakaflow/retention`, which runs them.
 */
import type { FastifyInstance } from 'fastify';

/** What one purge batch is given. `cutoff` is `now` minus the class's period (or a plan's): see retentionCutoff. */
export interface RetentionBatch {
  /** Rows created before this are past their period. */
  cutoff: Date;
  /** Per-plan cutoffs, for a class with `perPlanDays`: plan → cutoff. */
  planCutoffs: ReadonlyMap<string, Date>;
  /** Delete at most this many rows in this call (one short transaction). */
  limit: number;
  /** Count what would go; change nothing. */
  dryRun: boolean;
  /** Accounts under a legal hold: their rows stay. */
  heldSubjects: readonly string[];
}

export interface RetentionStep {
  /** Rows removed (or, on a dry run, that would be). */
  rows: number;
  /** Whole partitions dropped. */
  partitions?: number | undefined;
  /** Nothing is left past the cutoff (a dry run is done at once). */
  done: boolean;
}

export interface RetentionClass {
  /** `message_logs`, `server_logs`, `notifications`...: lower-case, unique. */
  name: string;
  /** The policy's words it keeps: `§4: message logs up to 90 days by default`. */
  policyClause: string;
  /** Days a row is kept; `null` for a class whose period is another's business (a deleted account's purge). */
  periodDays: number | null;
  /** Longer periods for some plans ("configurable on higher plans"). */
  perPlanDays?: Readonly<Record<string, number>> | undefined;
  /**
   * One batch of the purge; absent for a class with no table here (media, billing: packages that store them plug in).
   */
  purgeBatch?: ((batch: RetentionBatch) => Promise<RetentionStep>) | undefined;
  /** When the oldest row still held was created, for the admin's view. */
  oldest?: (() => Promise<Date | null>) | undefined;
}

/** A source of legal holds: the accounts held for a class (or for every class). */
export type HoldSource = (className: string) => Promise<readonly string[]>;

const classes = new WeakMap<object, Map<string, RetentionClass>>();
const holdSources = new WeakMap<object, HoldSource[]>();
const NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function registerRetentionClass(fastify: FastifyInstance, spec: RetentionClass): void {
  if (typeof spec?.name !== 'string' || !NAME.test(spec.name))
    throw Object.assign(new TypeError('a retention class needs a name of lower-case letters, digits and _'), {
      code: 'HF_CORE_INVALID_RETENTION_CLASS',
    });
  if (typeof spec.policyClause !== 'string' || !spec.policyClause)
    throw Object.assign(new TypeError(`retention class "${spec.name}" needs its policy clause`), {
      code: 'HF_CORE_INVALID_RETENTION_CLASS',
    });
  const days = [spec.periodDays, ...Object.values(spec.perPlanDays ?? {})];
  if (days.some((d) => d !== null && (!Number.isInteger(d) || d < 1)))
    throw Object.assign(new TypeError(`retention class "${spec.name}" needs periods of whole days (at least 1)`), {
      code: 'HF_CORE_INVALID_RETENTION_CLASS',
    });
  let map = classes.get(fastify.server);
  if (!map) classes.set(fastify.server, (map = new Map()));
  if (map.has(spec.name))
    throw Object.assign(new Error(`retention class "${spec.name}" is registered twice`), {
      code: 'HF_CORE_DUPLICATE_RETENTION_CLASS',
    });
  map.set(spec.name, spec);
}

export function retentionClasses(fastify: FastifyInstance): readonly RetentionClass[] {
  return [...(classes.get(fastify.server)?.values() ?? [])];
}

export function registerHoldSource(fastify: FastifyInstance, source: HoldSource): void {
  let list = holdSources.get(fastify.server);
  if (!list) holdSources.set(fastify.server, (list = []));
  list.push(source);
}

/** The accounts a legal hold keeps in `className` (every source asked; none registered: none held). */
export async function heldSubjects(fastify: FastifyInstance, className: string): Promise<string[]> {
  const all = new Set<string>();
  for (const source of holdSources.get(fastify.server) ?? []) for (const id of await source(className)) all.add(id);
  return [...all];
}

/**
 * A legal hold on a subject as an erasure reports it (§4): which hold, the class it keeps (`null`:
 * every class) and why. Data rights keeps, through any erasure of the subject, the data of the
 * handlers whose `retentionClasses` a hold names, and says so in the receipt.
 */
export interface SubjectHold {
  id: string;
  class: string | null;
  reason: string;
}

/** A source of the holds covering one subject: on it (for a class or every class), or on a whole class. */
export type SubjectHoldSource = (subjectId: string) => Promise<readonly SubjectHold[]>;

const subjectHoldSources = new WeakMap<object, SubjectHoldSource[]>();

export function registerSubjectHoldSource(fastify: FastifyInstance, source: SubjectHoldSource): void {
  let list = subjectHoldSources.get(fastify.server);
  if (!list) subjectHoldSources.set(fastify.server, (list = []));
  list.push(source);
}

/** The holds that cover `subjectId`, from every source (none registered: none). */
export async function subjectHolds(fastify: FastifyInstance, subjectId: string): Promise<SubjectHold[]> {
  const all = new Map<string, SubjectHold>();
  for (const source of subjectHoldSources.get(fastify.server) ?? [])
    for (const hold of await source(subjectId)) all.set(hold.id, hold);
  return [...all.values()];
}

/**
 * The cutoff of a period of `days` days at `now`: `now` minus that many days (issue 30 item 3). A row
 * created before it is past its period, so "up to 90 days" keeps none longer than 90 days (plus the
 * time until the next run), where a UTC midnight kept rows up to a day longer. Day-partitioned
 * classes keep the whole UTC days after the cutoff's day (today and the N - 1 days before it).
 */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}

/** A `purgeBatch` from a function that removes up to `limit` rows and says how many (a dry run: how many would go). */
export function purgeByCount(
  purge: (batch: RetentionBatch) => Promise<number>,
): NonNullable<RetentionClass['purgeBatch']> {
  return async (batch) => {
    const rows = await purge(batch);
    return { rows, done: batch.dryRun || rows < batch.limit };
  };
}
