/**
 * The personal-data handler contract (ARCHITECTURE.md item 5) and its registry. A handler answers
 * for one package's data about a subject: export it, erase it, and say what it keeps and why.
 * Data rights, retention and the minor erasure compose every registered handler; none of them is a
 * dependency of the packages that register one.
 */
import type { FastifyInstance } from 'fastify';

/**
 * Who a request is about (policy §6; §1: WhatsApp data "belongs to you and your contacts"):
 * - an account, by its id;
 * - a contact of an account, by E.164 number: erasing it touches that account's data only;
 * - an email, for someone who has no account.
 */
export type SubjectRef =
  | { kind: 'account'; accountId: string }
  | { kind: 'contact'; accountId: string; phone: string }
  | { kind: 'email'; email: string };

export type SubjectKind = SubjectRef['kind'];

export const SUBJECT_KINDS: readonly SubjectKind[] = ['account', 'contact', 'email'];

/** What an erasure did: records erased, and records kept with the reason (law, a hold, proof). */
export interface ErasureResult {
  erased: number;
  kept?: { count: number; reason: string }[] | undefined;
}

/** What a package that keeps personal data gives data-rights and retention (contract item 5). */
export interface PersonalDataHandler {
  /** Stable, unique name: the package's schema (`consent`, `audit`, `vault`...). */
  readonly name: string;
  /** The kinds of subject this handler holds data about; it is asked about no other kind. */
  readonly identifiers: readonly SubjectKind[];
  /** What its export leaves out and why (secret values, key digests), for the export's manifest. */
  readonly withheld?: string | undefined;
  /**
   * The retention classes (§4) its data falls under (`message_logs`, `server_logs`...). A legal hold
   * on the subject for one of them keeps this handler's data through any erasure of the subject
   * (the receipt lists it, with the hold), until the hold is released. A handler that names none is
   * kept only by a hold on every class, or on the class of a deleted account's data.
   */
  readonly retentionClasses?: readonly string[] | undefined;
  /**
   * Everything the package holds about the subject, as plain JSON, never secrets in plaintext.
   * A large part is an async iterable of records (an export writes them as one JSON array without
   * holding them all); a small one may be a promise of one JSON value.
   */
  exportSubject(ref: SubjectRef): AsyncIterable<unknown> | Promise<unknown>;
  /** Erases the subject's personal data; idempotent. Kept records are listed with their reason. */
  eraseSubject(ref: SubjectRef): Promise<ErasureResult>;
}

/** The first contract (account ids only), still accepted: registered as an account-only handler. */
export interface AccountPersonalDataHandler {
  readonly name: string;
  readonly identifiers?: undefined;
  exportSubject(subjectId: string): Promise<unknown>;
  eraseSubject(subjectId: string): Promise<ErasureResult>;
}

/**
 * ITU-T E.164: a country code first (never 0), 15 digits at most. A JSON-schema `pattern` string,
 * so route schemas and code check one pattern (`isE164` is built from it).
 */
export const E164_PATTERN = '^\\+[1-9][0-9]{1,14}$';
const E164 = new RegExp(E164_PATTERN);

/** Whether `phone` is an E.164 number (a `+`, then 2 to 15 digits, no leading zero). */
export function isE164(phone: unknown): phone is string {
  return typeof phone === 'string' && E164.test(phone);
}

/** The account a subject belongs to (an account's own id, a contact's owner), or undefined for an email. */
export function subjectAccountId(ref: SubjectRef): string | undefined {
  return ref.kind === 'email' ? undefined : ref.accountId;
}

/** A subject of an account. */
export const accountSubject = (accountId: string): SubjectRef => ({ kind: 'account', accountId });

function adopt(handler: PersonalDataHandler | AccountPersonalDataHandler): PersonalDataHandler {
  if (handler.identifiers !== undefined) return handler;
  const legacy = handler;
  return {
    name: legacy.name,
    identifiers: ['account'],
    exportSubject: (ref) => legacy.exportSubject((ref as { accountId: string }).accountId),
    eraseSubject: (ref) => legacy.eraseSubject((ref as { accountId: string }).accountId),
  };
}

// Keyed by the HTTP server, which every encapsulation context of one Fastify app shares: a handler
// registered inside any plugin is visible to the whole app, and two apps in one process stay apart.
const registries = new WeakMap<object, PersonalDataHandler[]>();

function registry(fastify: FastifyInstance): PersonalDataHandler[] {
  let list = registries.get(fastify.server);
  if (!list) registries.set(fastify.server, (list = []));
  return list;
}

/** Names an export uses for its own entries (`manifest.json`, `article15.json`, `article15.html`). */
export const RESERVED_HANDLER_NAMES: readonly string[] = ['manifest', 'article15'];

function invalid(message: string): Error {
  return Object.assign(new Error(message), { code: 'HF_CORE_INVALID_HANDLER' });
}

/** Registers a package's handler so data rights and the age gate can reach every package's data. */
export function registerPersonalDataHandler(fastify: FastifyInstance, handler: PersonalDataHandler): void;
/** A handler of the first contract (account ids), registered as an account-only handler. */
export function registerPersonalDataHandler(fastify: FastifyInstance, handler: AccountPersonalDataHandler): void;
export function registerPersonalDataHandler(
  fastify: FastifyInstance,
  handler: PersonalDataHandler | AccountPersonalDataHandler,
): void {
  const list = registry(fastify);
  if (typeof handler?.name !== 'string' || !/^[a-z][a-z0-9_.-]{0,62}$/.test(handler.name)) {
    throw invalid('a personal-data handler needs a name of lower-case letters, digits, _, . or -');
  }
  // An export's zip has an entry per part (`<name>.json`) beside these: a part may not take their names.
  if (RESERVED_HANDLER_NAMES.includes(handler.name))
    throw invalid(`"${handler.name}" is reserved (an export's own entry), choose another handler name`);
  if (typeof handler.exportSubject !== 'function' || typeof handler.eraseSubject !== 'function') {
    throw invalid(`personal-data handler "${handler.name}" needs exportSubject and eraseSubject`);
  }
  if (
    handler.identifiers !== undefined &&
    (!Array.isArray(handler.identifiers) ||
      !handler.identifiers.length ||
      handler.identifiers.some((k) => !SUBJECT_KINDS.includes(k)))
  ) {
    throw invalid(`personal-data handler "${handler.name}" has identifiers other than ${SUBJECT_KINDS.join(', ')}`);
  }
  const classes = (handler as PersonalDataHandler).retentionClasses;
  if (classes !== undefined && (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string' || !c))) {
    throw invalid(`personal-data handler "${handler.name}" has retentionClasses that are not a list of class names`);
  }
  if (list.some((h) => h.name === handler.name)) {
    throw Object.assign(new Error(`personal-data handler "${handler.name}" is registered twice`), {
      code: 'HF_CORE_DUPLICATE_HANDLER',
    });
  }
  list.push(adopt(handler));
}

/** Every personal-data handler registered in this app so far, in registration order. */
export function personalDataHandlers(fastify: FastifyInstance, kind?: SubjectKind): readonly PersonalDataHandler[] {
  const list = registry(fastify);
  return kind ? list.filter((h) => h.identifiers.includes(kind)) : list;
}

/**
 * The restriction flag (policy §6, the right to restriction): a subject whose processing is
 * restricted. Data rights sets it; packages that process (send messages, record analytics) ask.
 * A source answers for the subjects it knows; with no source registered, nobody is restricted.
 */
export type RestrictionSource = (accountId: string) => boolean | Promise<boolean>;

const restrictionSources = new WeakMap<object, RestrictionSource[]>();

export function registerRestrictionSource(fastify: FastifyInstance, source: RestrictionSource): void {
  let list = restrictionSources.get(fastify.server);
  if (!list) restrictionSources.set(fastify.server, (list = []));
  list.push(source);
}

/** Whether processing of the account's data is restricted, by any registered source. */
export async function isRestricted(fastify: FastifyInstance, accountId: string): Promise<boolean> {
  for (const source of restrictionSources.get(fastify.server) ?? []) if (await source(accountId)) return true;
  return false;
}

/** Whether a handler's export is a stream of records rather than one value. */
export function isRecordStream(part: unknown): part is AsyncIterable<unknown> {
  return (
    typeof part === 'object' &&
    part !== null &&
    typeof (part as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

/** A handler's export as one value: a stream's records gathered into an array (small parts, tests). */
export async function collectExport(part: AsyncIterable<unknown> | Promise<unknown>): Promise<unknown> {
  if (!isRecordStream(part)) return part;
  const records: unknown[] = [];
  for await (const record of part) records.push(record);
  return records;
}
