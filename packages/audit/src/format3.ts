/**
 * Chain format 3 (issue 29): an event as the writer holds it (Event3). The layout its digest and
 * hash are computed from is in format3-layout.ts; the checks of a stored event in format3-check.ts.
 */
import { canonicalJson } from '@harakaflow/core';
import type { AuditEvent, AuditEventInput } from './event-types.js';
import { eventHash3, hash32, personalDigest3, salt16, uuidOfHex, type Fields3 } from './format3-layout.js';
import { uuidBytes } from './ids.js';

export { eventHash3, personalDigest3, type Fields3 } from './format3-layout.js';
export { eventProblem3, personalDigestOf } from './format3-check.js';

/**
 * A format-3 event as the writer holds it: the caller's input, its chain position, and its id,
 * salt, digest and hash in hex (ready for the next layout, the view and COPY). The id's text form
 * and the `AuditEvent` view are made only when something asks (a spill file, a test, a position).
 */
export class Event3 implements Fields3 {
  readonly chainVersion = 3;
  readonly input: AuditEventInput;
  readonly idHex: string;
  readonly salt: string;
  readonly occurredMs: number;
  readonly writer: string;
  readonly day: string;
  readonly seq: number;
  readonly detailsJson: string | null;
  /** Digest, hash and the hash it links to, hex. */
  readonly digest: string;
  readonly hash: string;
  readonly prev: string;
  #uuid: string | null = null;

  constructor(
    input: AuditEventInput,
    idHex: string,
    occurredMs: number,
    writer: string,
    day: string,
    seq: number,
    salt: string,
    prev: string,
    detailsJson?: string | null,
  ) {
    this.input = input;
    this.idHex = idHex;
    this.occurredMs = occurredMs;
    this.writer = writer;
    this.day = day;
    this.seq = seq;
    this.detailsJson =
      detailsJson !== undefined
        ? detailsJson
        : input.details === null || input.details === undefined
          ? null
          : canonicalJson(input.details);
    this.salt = salt;
    this.prev = prev;
    this.digest = personalDigest3(salt, this);
    this.hash = eventHash3(prev, this, this.digest);
  }

  // Fields3, read from the input.
  get kind(): string {
    return this.input.kind;
  }
  get action(): string {
    return this.input.action;
  }
  get outcome(): string | null {
    return this.input.outcome ?? null;
  }
  get requestId(): string | null {
    return this.input.requestId ?? null;
  }
  get method(): string | null {
    return this.input.method ?? null;
  }
  get route(): string | null {
    return this.input.route ?? null;
  }
  get status(): number | null {
    return this.input.status ?? null;
  }
  get durationMs(): number | null {
    return this.input.durationMs ?? null;
  }
  get ipInvalid(): boolean {
    return this.input.ipInvalid ?? false;
  }
  get subjectId(): string | null {
    return this.input.subjectId ?? null;
  }
  get ip(): string | null {
    return this.input.ip ?? null;
  }
  get userAgent(): string | null {
    return this.input.userAgent ?? null;
  }
  get path(): string | null {
    return this.input.path ?? null;
  }
  get resource(): string | null {
    return this.input.resource ?? null;
  }

  /** The id in its text form. */
  get id(): string {
    return (this.#uuid ??= uuidOfHex(this.idHex));
  }

  /** The event as readers, spill files and the API see it (hashes, digest and salt in hex). */
  view(): AuditEvent {
    const i = this.input;
    return {
      id: this.id,
      occurredAt: new Date(this.occurredMs),
      writer: this.writer,
      day: this.day,
      seq: this.seq,
      kind: i.kind,
      action: i.action,
      resource: i.resource ?? null,
      outcome: i.outcome ?? null,
      requestId: i.requestId ?? null,
      method: i.method ?? null,
      route: i.route ?? null,
      path: i.path ?? null,
      status: i.status ?? null,
      durationMs: i.durationMs ?? null,
      subjectId: i.subjectId ?? null,
      ip: i.ip ?? null,
      ipInvalid: i.ipInvalid ?? false,
      userAgent: i.userAgent ?? null,
      // Not chained in format 3: kept once per user agent in audit.user_agents.
      browserName: null,
      browserVersion: null,
      osName: null,
      osVersion: null,
      deviceType: null,
      details: i.details ?? null,
      personalSalt: this.salt,
      personalDigest: this.digest,
      prevHash: this.prev,
      hash: this.hash,
      erasedAt: null,
      chainVersion: 3,
      erasedBy: null,
    };
  }

  /**
   * A format-3 event back from its view (a spill file's item), or null when its fields are not
   * of format 3's forms. Its digest and hash are recomputed from the fields: the caller compares
   * them with the view's (chain.ts does, before anything is written).
   */
  static fromView(e: AuditEvent): Event3 | null {
    const id = uuidBytes(e.id);
    const salt = salt16(e.personalSalt);
    const prev = hash32(e.prevHash);
    if (!id || !salt || !prev) return null;
    const input: AuditEventInput = {
      kind: e.kind as 'access' | 'security',
      action: e.action,
      resource: e.resource,
      outcome: e.outcome,
      requestId: e.requestId,
      method: e.method,
      route: e.route,
      path: e.path,
      status: e.status,
      durationMs: e.durationMs,
      subjectId: e.subjectId,
      ip: e.ip,
      ipInvalid: e.ipInvalid,
      userAgent: e.userAgent,
      details: e.details,
    };
    return new Event3(input, id.toString('hex'), e.occurredAt.getTime(), e.writer, e.day, e.seq, salt, prev);
  }
}
