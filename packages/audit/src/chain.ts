/**
 * One writer's hash chain, segmented by UTC day: the rules a reviewer checks without the writer's
 * delivery machinery (event.ts has the hash and digest formulas, checkpoints.ts the signatures).
 *
 * - Each event links to the one before it (`prevHash`); a writer's first segment links to its
 *   genesis hash, so a chain cannot be spliced onto another writer's.
 * - `seq` counts from 0 in each day's segment; at midnight UTC the segment is closed (its count
 *   and last hash) and the next event starts the next day at seq 0, linked to the last hash.
 * - A clock stepping back over midnight never reopens a closed segment: earlier times stay in the
 *   current day.
 */
import {
  CURRENT_CHAIN_VERSION,
  eventHash,
  eventProblem,
  genesisHash,
  personalDigest,
  utcDay,
  type AuditEvent,
  type AuditEventInput,
  type ChainVersion,
} from './event.js';
import { Event3 } from './format3.js';
import { uuidGenerator, uuidv7 } from './ids.js';
import { randomView } from '@harakaflow/core/internals';
import type { ChainPosition, SegmentClose, SpillFile } from './spill.js';

/** A chained event as the writer holds it: the view itself (formats 1 and 2), or format 3's bytes. */
export type Sealed = AuditEvent | Event3;

/** Where a chained event stands (what the next item follows). */
export const positionOf = (e: Sealed): ChainPosition => ({ id: e.id, hash: e.hash, day: e.day, seq: e.seq });

/** The view of a chained event (format 3's made on demand). */
export const viewOf = (e: Sealed): AuditEvent => (e instanceof Event3 ? e.view() : e);

/** 16 random bytes (hex) per format-3 event, cut from a block of the pooled CSPRNG (one random call per 256 salts). */
let salts: Buffer = Buffer.alloc(0);
let saltAt = 0;
function salt(): string {
  if (saltAt === salts.length) {
    salts = randomView(4096);
    saltAt = 0;
  }
  return salts.toString('hex', saltAt, (saltAt += 16));
}

export class Chain {
  readonly writer: string;
  readonly #version: ChainVersion;
  #day: string | null = null;
  #dayEnd = 0;
  #seq = 0;
  #prevHash: string;
  /** Format 3: the last hash (hex). */
  #prevText: string;
  /** The last event chained: what the next item follows. */
  lastEvent: Sealed | null = null;

  constructor(writer: string, version: ChainVersion = CURRENT_CHAIN_VERSION) {
    this.writer = writer;
    this.#version = version;
    this.#prevHash = genesisHash(writer);
    this.#prevText = this.#prevHash;
  }

  get version(): ChainVersion {
    return this.#version;
  }

  /** Where the chain stands (the last event chained), or null before the first. */
  get last(): ChainPosition | null {
    return this.lastEvent ? positionOf(this.lastEvent) : null;
  }

  /** Events in the open segment. */
  get open(): number {
    return this.#seq;
  }

  /**
   * The next event of the chain at `ms`, and the close of the segment before it when the day
   * changed. The day only changes at midnight UTC: no date formatting per event.
   */
  next(input: AuditEventInput, ms: number): { event: Sealed; closed: SegmentClose | null } {
    let closed: SegmentClose | null = null;
    if (this.#day === null || ms >= this.#dayEnd) {
      if (this.#day !== null && this.#seq > 0) closed = this.close();
      const at = new Date(ms);
      this.#day = utcDay(at);
      this.#dayEnd = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()) + 86_400_000;
      this.#seq = 0;
    }
    if (this.#version === 3) {
      // The id carries the event's millisecond (or, after the clock stepped back, the last id's).
      const event = new Event3(
        input,
        uuidGenerator.hex(ms),
        ms,
        this.writer,
        this.#day!,
        this.#seq,
        salt(),
        this.#prevText,
      );
      this.#prevText = event.hash;
      this.#seq++;
      this.lastEvent = event;
      return { event, closed };
    }
    const occurredAt = new Date(ms);
    const subjectId = input.subjectId ?? null;
    const ip = input.ip ?? null;
    const userAgent = input.userAgent ?? null;
    // A 16-byte salt per event, base64 (from the pooled CSPRNG buffer ids use too).
    const personalSalt = randomView(16).toString('base64');
    const chainVersion = this.#version;
    const resource = input.resource ?? null;
    const path = input.path ?? null;
    const details = input.details ?? null;
    const event: AuditEvent = {
      id: uuidv7(ms),
      occurredAt,
      writer: this.writer,
      day: this.#day!,
      seq: this.#seq,
      kind: input.kind,
      action: input.action,
      resource,
      outcome: input.outcome ?? null,
      requestId: input.requestId ?? null,
      method: input.method ?? null,
      route: input.route ?? null,
      path,
      status: input.status ?? null,
      durationMs: input.durationMs ?? null,
      subjectId,
      ip,
      ipInvalid: input.ipInvalid ?? false,
      userAgent,
      browserName: input.browserName ?? null,
      browserVersion: input.browserVersion ?? null,
      osName: input.osName ?? null,
      osVersion: input.osVersion ?? null,
      deviceType: input.deviceType ?? null,
      details,
      personalSalt,
      personalDigest: personalDigest(personalSalt, chainVersion, { subjectId, ip, userAgent, path, resource, details }),
      prevHash: this.#prevHash,
      hash: '',
      erasedAt: null,
      chainVersion,
      erasedBy: null,
    };
    event.hash = eventHash(event);
    this.#prevHash = event.hash;
    this.#seq++;
    this.lastEvent = event;
    return { event, closed };
  }

  /** Closes the open segment (its count and last hash). */
  close(): SegmentClose {
    const lastHash = this.lastEvent ? this.lastEvent.hash : this.#prevHash;
    return { close: true, writer: this.writer, day: this.#day!, count: this.#seq, lastHash };
  }
}

/**
 * Recomputes a spill file's chain from item `start` on: every event's own hash and digest, each
 * link, seq and segment end, beginning at the position the file (or its stored prefix) follows.
 */
export function chainProblem(file: SpillFile, start: number, after: ChainPosition | null): string | null {
  let day = after?.day ?? null;
  let seq = after?.seq ?? -1;
  let hash = after?.hash ?? genesisHash(file.writer);
  for (let i = start; i < file.items.length; i++) {
    const item = file.items[i]!;
    if (item.writer !== file.writer) return 'an item belongs to another writer';
    if ('close' in item) {
      if (item.day !== day || item.count !== seq + 1 || item.lastHash !== hash)
        return 'a segment end does not match the events before it';
      continue;
    }
    if (eventProblem(item)) return 'an event does not match its hash';
    const expected = item.day === day ? seq + 1 : 0;
    if (item.seq !== expected || item.prevHash !== hash) return 'an event does not link to the one before it';
    day = item.day;
    seq = item.seq;
    hash = item.hash;
  }
  return null;
}
