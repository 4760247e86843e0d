/**
 * The audit writer: turns inputs into chained events and delivers them at least once.
 *
 * - Each writer instance owns one hash chain, segmented by UTC day (event.ts has the rules).
 * - Events queue in memory and are written in batches (size or interval, whichever comes first),
 *   one statement per batch (store.ts). Inserts are idempotent on the UUIDv7 id, so a batch whose
 *   commit was not acknowledged can be written again.
 * - A failed batch is retried with capped exponential backoff and full jitter. Past `maxBuffered`
 *   events the oldest are spilled to NDJSON files (spill.ts: authenticated with the checkpoint key,
 *   written whole, then renamed, so a crash never leaves half a line) and replayed, then deleted,
 *   once the database answers again. Replay trusts a file only when its MAC verifies, every hash
 *   and link recomputes, and its first item follows an event that is stored or was replayed just
 *   before; a file that fails is moved to `rejected/`, logged and audited once, and never blocks
 *   other writes. Spilling waits until no batch is in flight, so a file always follows what is
 *   committed or spilled before it.
 * - `sync` events resolve when their batch commits and reject as soon as a write fails (fail
 *   closed). The event stays queued: the chain needs it, and it records that the action was attempted.
 * - close() closes the open segment, flushes, and spills whatever the database would not take.
 */
import type { Database } from '@harakaflow/db';
import { errorCodes, openValue, sealValue, type SigningKey } from '@harakaflow/core';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditUnavailable, SPILL_REJECTED } from './errors.js';
import { checkpointPayload, CURRENT_CHAIN_VERSION, eventHash, eventProblem, genesisHash, personalDigest, utcDay, type AuditEvent, type AuditEventInput, type ChainVersion } from './event.js';
import { pooledRandom, uuidv7 } from './ids.js';
import { decodeSpill, encodeSpill, prepareSpillDirectory, SPILL_SUFFIX, type ChainPosition, type Item, type SegmentClose, type SpillFile } from './spill.js';
import { addDays, ensureDayPartitions, isMissingPartition } from './partitions.js';
import { storedHashes, writeBatch, type Checkpoint } from './store.js';

export interface WriterLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WriterOptions {
  db: Database;
  /** Names this writer's chain; unique per running instance. */
  writer: string;
  /** HMAC keys of the checkpoints: the first signs, all verify. */
  checkpointKeys: readonly SigningKey[];
  batchSize: number;
  /** Batches written at once (each on its own connection), so encoding and the database overlap. */
  concurrency?: number | undefined;
  flushIntervalMs: number;
  maxBuffered: number;
  /** The configured spill directory (files go in its `hf-audit-<uid>` subdirectory), or null. */
  spillDir: string | null;
  /** The chain format of new events: 2 (default), or 1 while replicas of an earlier version still verify. */
  chainVersion?: ChainVersion | undefined;
  /** The most the spill directory may hold, bytes. Default 1 GiB. */
  spillMaxBytes?: number | undefined;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A write that takes longer is treated as failed (and retried; inserts are idempotent). */
  writeTimeoutMs: number;
  staleAfterMs: number;
  logger: WriterLogger;
  /** Called with every checkpoint once it is committed, to keep a copy outside the database. */
  onCheckpoint?: ((checkpoint: Checkpoint) => void) | undefined;
  now?: () => Date;
}

/** Append order of an item, and the event it follows in its chain (symbols: never stored, never in a spill file's JSON). */
const ORDER = Symbol('order');
const PREV = Symbol('prev');
type Ordered = Item & { [ORDER]?: number; [PREV]?: ChainPosition | null };
const order = (item: Item) => (item as Ordered)[ORDER]!;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** How a spill file's replay ended. */
type Replayed = 'done' | 'gone' | { defer: string } | { reject: string };

export function checkpointMac(keys: readonly SigningKey[], c: Omit<Checkpoint, 'mac'>): string {
  const sealed = sealValue('hf-audit-checkpoint', checkpointPayload(c.writer, c.day, c.count, c.lastHash, c.closed), keys[0]!);
  return sealed.slice(sealed.lastIndexOf('.') + 1);
}

export function checkpointValid(keys: readonly SigningKey[], c: Checkpoint): boolean {
  const payload = checkpointPayload(c.writer, c.day, c.count, c.lastHash, c.closed);
  return openValue('hf-audit-checkpoint', `${payload}.${c.mac}`, keys, Infinity) !== null;
}

/** A 16-byte salt per event, base64 (from the pooled CSPRNG buffer ids use too). */
const salt = () => pooledRandom(16).toString('base64');

export class AuditWriter {
  readonly writer: string;
  readonly #o: WriterOptions;
  readonly #now: () => Date;
  readonly #concurrency: number;
  #day: string | null = null;
  #dayStart = 0;
  #dayEnd = 0;
  #seq = 0;
  #prevHash: string;
  /** The last event appended: what the next item follows. */
  #last: ChainPosition | null = null;
  #spillFiles = 0;
  #spillDirectory: Promise<string> | null = null;
  /** Items not yet handed to a write, in append order. */
  #queue: Item[] = [];
  #ordinal = 0;
  /** Ordinals of the first item of each batch in flight. */
  #inFlight = new Set<number>();
  #waiters = new Map<AuditEvent, Waiter>();
  #flushes: { through: number; waiter: Waiter }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #backoff: NodeJS.Timeout | null = null;
  #failures = 0;
  #spillPending = true; // files left by an earlier run are replayed first
  #busy = false; // replaying or spilling: no new batches meanwhile
  #closing = false;
  #idle: (() => void) | null = null;
  #lastStaleWarning = 0;
  /** Day partitions exist through this UTC day (created ahead by #store). */
  #partitionsThrough: string | null = null;
  /** Counters for tests, metrics and the benchmark. */
  readonly stats = { written: 0, batches: 0, failedBatches: 0, spilled: 0, replayed: 0, rejected: 0, dropped: 0 };
  /** Bytes of spill files waiting in the directory (measured when it is first used, then kept). */
  #spillBytes = 0;
  /** The spill directory reached its cap while the database fails: access events are dropped (counted). */
  #full = false;
  /** Access events dropped since the last declared gap, and when. */
  #gap: { count: number; from: Date; to: Date } | null = null;

  /** What an operator's health check shows. */
  get health(): { backlog: number; spilledBytes: number; dropped: number; full: boolean } {
    return { backlog: this.buffered, spilledBytes: this.#spillBytes, dropped: this.#gap?.count ?? 0, full: this.#full };
  }

  /**
   * An access event, unless the spill directory is full (issue 13 item 15): then it is counted and
   * dropped, never chained, so the chain has no hole; once writes succeed again one chained
   * `audit.gap` event declares how many were dropped and when. Security events always go through
   * append(). Returns whether the event was kept.
   */
  appendAccess(input: AuditEventInput): boolean {
    if (this.#full) {
      const at = this.#now();
      this.#gap = this.#gap ? { count: this.#gap.count + 1, from: this.#gap.from, to: at } : { count: 1, from: at, to: at };
      this.stats.dropped++;
      return false;
    }
    this.append(input);
    return true;
  }

  constructor(options: WriterOptions) {
    this.#o = options;
    this.writer = options.writer;
    this.#now = options.now ?? (() => new Date());
    this.#concurrency = options.concurrency ?? 2;
    this.#prevHash = genesisHash(options.writer);
  }

  /** Events waiting in memory, queued or being written (not yet committed or spilled). */
  get buffered(): number {
    return this.#queue.length + this.#inFlightItems;
  }
  #inFlightItems = 0;

  append(input: AuditEventInput, sync = false): { event: AuditEvent; committed: Promise<void> | null } {
    if (this.#closing) throw new AuditUnavailable();
    const occurredAt = this.#now();
    const ms = occurredAt.getTime();
    let day = this.#day!;
    // The day only changes at midnight UTC: no date formatting per event. A clock stepping back
    // over midnight must not reopen a closed segment, so earlier times stay in the current day.
    if (this.#day === null || ms >= this.#dayEnd) {
      day = utcDay(occurredAt);
      if (this.#day !== null && this.#seq > 0) this.#push(this.#segmentClose());
      this.#day = day;
      this.#dayStart = Date.UTC(occurredAt.getUTCFullYear(), occurredAt.getUTCMonth(), occurredAt.getUTCDate());
      this.#dayEnd = this.#dayStart + 86_400_000;
      this.#seq = 0;
    }
    const subjectId = input.subjectId ?? null;
    const ip = input.ip ?? null;
    const userAgent = input.userAgent ?? null;
    const personalSalt = salt();
    const chainVersion = this.#o.chainVersion ?? CURRENT_CHAIN_VERSION;
    const resource = input.resource ?? null;
    const path = input.path ?? null;
    const details = input.details ?? null;
    const event: AuditEvent = {
      id: uuidv7(ms),
      occurredAt,
      writer: this.writer,
      day,
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
    this.#push(event);
    this.#last = { id: event.id, hash: event.hash, day: event.day, seq: event.seq };

    let committed: Promise<void> | null = null;
    if (sync) {
      committed = new Promise<void>((resolve, reject) => this.#waiters.set(event, { resolve, reject }));
      this.#kick(true);
    } else {
      this.#kick(false);
    }
    return { event, committed };
  }

  #segmentClose(): SegmentClose {
    return { close: true, writer: this.writer, day: this.#day!, count: this.#seq, lastHash: this.#prevHash };
  }

  #push(item: Item): void {
    (item as Ordered)[ORDER] = this.#ordinal++;
    (item as Ordered)[PREV] = this.#last;
    this.#queue.push(item);
  }

  /** Writes now (`immediate`, a full batch, or past the memory bound) or after the interval. */
  #kick(immediate: boolean): void {
    if (immediate || this.#queue.length >= this.#o.batchSize || this.#queue.length > this.#o.maxBuffered) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      // A sync event or a flush does not wait out a backoff: it is an attempt of its own.
      if (immediate && this.#backoff) this.#endBackoff(true);
      else if (this.#backoff) this.#spillExcess();
      else this.#pump(immediate);
    } else {
      this.#armTimer();
    }
  }

  /** A partial batch goes after at most `flushIntervalMs`. */
  #armTimer(): void {
    if (this.#timer || !this.#queue.length || this.#closing) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump(true);
    }, this.#o.flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Starts writes until `concurrency` batches are in flight. Never awaits: each write settles on
   * its own. Only full batches go unless `partial` (the interval elapsed, a sync event or flush
   * waits, or the writer closes): batches stay large under load, and small when it is quiet.
   */
  #pump(partial = false): void {
    if (this.#busy || this.#backoff) return;
    if (this.#spillPending && this.#o.spillDir) {
      if (this.#inFlight.size) return; // replay once the writes in flight settle
      this.#busy = true;
      this.#replaySpill().then(
        () => {
          this.#spillPending = false;
          this.#busy = false;
          this.#resolveFlushes(); // what waited only for the spilled events is now committed
          this.#recovered();
          this.#pump(partial);
        },
        (error: unknown) => {
          this.#busy = false;
          this.#failed(error);
        },
      );
      return;
    }
    const anyPartial = partial || this.#closing || this.#waiters.size > 0 || this.#flushes.length > 0;
    while (this.#inFlight.size < this.#concurrency && this.#queue.length) {
      if (this.#queue.length < this.#o.batchSize && !anyPartial) break;
      const batch = this.#queue.splice(0, this.#o.batchSize);
      const first = order(batch[0]!);
      this.#inFlight.add(first);
      this.#inFlightItems += batch.length;
      this.#write(batch).then(
        () => this.#settled(batch, first, null),
        (error: unknown) => this.#settled(batch, first, error ?? new Error('write failed')),
      );
    }
    // What is left (a partial batch) goes when the interval elapses.
    this.#armTimer();
    this.#checkIdle();
  }

  #settled(batch: Item[], first: number, error: unknown): void {
    this.#inFlight.delete(first);
    this.#inFlightItems -= batch.length;
    if (error === null) {
      this.#failures = 0;
      for (const item of batch) if (!('close' in item)) this.#take(item)?.resolve();
      this.#recovered();
      this.#resolveFlushes();
      this.#pump();
      return;
    }
    // Back to the front of the queue, in append order: the chain needs every event.
    this.#queue = [...batch, ...this.#queue].sort((a, b) => order(a) - order(b));
    for (const item of batch) if (!('close' in item)) this.#take(item)?.reject(new AuditUnavailable());
    this.#failed(error);
  }

  /** After a successful write: the directory has room again, and a gap of dropped events is declared in the chain. */
  #recovered(): void {
    if (this.#full && this.#spillBytes < this.#maxSpill()) {
      this.#full = false;
      this.#o.logger.warn({ spilledBytes: this.#spillBytes }, 'audit: spill directory below its cap; access events recorded again');
    }
    if (!this.#full && this.#gap && !this.#closing) {
      const gap = this.#gap;
      this.#gap = null;
      this.append({ kind: 'security', action: 'audit.gap', outcome: 'failure', details: { count: gap.count, from: gap.from.toISOString(), to: gap.to.toISOString(), reason: 'the spill directory was full while the database was unavailable' } });
    }
  }

  #maxSpill(): number {
    return this.#o.spillMaxBytes ?? 1024 * 1024 * 1024;
  }

  #take(event: AuditEvent): Waiter | undefined {
    const waiter = this.#waiters.get(event);
    if (waiter) this.#waiters.delete(event);
    return waiter;
  }

  /** Spill files of this writer may wait in the directory. */
  #spilledPending(): boolean {
    return this.#spillPending && this.#o.spillDir !== null && this.stats.spilled > 0;
  }

  /** The smallest ordinal not yet committed (queued or in flight), or Infinity. */
  #pendingFloor(): number {
    let floor = this.#queue.length ? order(this.#queue[0]!) : Infinity;
    for (const first of this.#inFlight) floor = Math.min(floor, first);
    return floor;
  }

  #resolveFlushes(): void {
    // Events spilled to disk are not committed either: a flush waits for their replay.
    if (!this.#flushes.length || this.#spilledPending()) return;
    const floor = this.#pendingFloor();
    const done = this.#flushes.filter((f) => f.through < floor);
    this.#flushes = this.#flushes.filter((f) => f.through >= floor);
    for (const f of done) f.waiter.resolve();
  }

  /** After a failed write: reject flushes and queued sync events, spill past the bound, warn if stale, back off. */
  #failed(error: unknown): void {
    this.#failures++;
    this.stats.failedBatches++;
    this.#o.logger.error({ err: errorCodes(error), buffered: this.buffered, attempt: this.#failures }, 'audit: write failed; retrying');
    const flushes = this.#flushes;
    this.#flushes = [];
    for (const f of flushes) f.waiter.reject(new AuditUnavailable());
    // A sync event waiting in the queue fails closed now, not when the database is back.
    if (this.#waiters.size) for (const item of this.#queue) if (!('close' in item)) this.#take(item)?.reject(new AuditUnavailable());
    this.#warnIfStale();
    if (this.#closing) {
      this.#checkIdle();
      return;
    }
    if (!this.#backoff) {
      const cap = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(this.#failures - 1, 20));
      // Full jitter: replicas that failed together do not retry together.
      this.#backoff = setTimeout(() => this.#endBackoff(true), Math.random() * cap);
      this.#backoff.unref();
    }
    this.#spillExcess();
  }

  /** Past the memory bound while the database fails: the oldest half goes to disk. */
  #spillExcess(): boolean {
    // Only with nothing in flight: a file's first item then follows an event already committed or spilled.
    if (this.#queue.length <= this.#o.maxBuffered || this.#busy || !this.#o.spillDir || this.#inFlight.size || this.#full) return false;
    this.#busy = true;
    void this.#spill(this.#queue.length - Math.floor(this.#o.maxBuffered / 2)).finally(() => {
      this.#busy = false;
      this.#pump();
    });
    return true;
  }

  #endBackoff(partial = true): void {
    if (this.#backoff) clearTimeout(this.#backoff);
    this.#backoff = null;
    if (!this.#spillExcess()) this.#pump(partial);
  }

  #warnIfStale(): void {
    const head = this.#queue.find((item): item is AuditEvent => !('close' in item));
    if (!head) return;
    const now = this.#now().getTime();
    const age = now - head.occurredAt.getTime();
    if (age > this.#o.staleAfterMs && now - this.#lastStaleWarning > this.#o.staleAfterMs) {
      this.#lastStaleWarning = now;
      this.#o.logger.warn({ oldestAgeMs: age, buffered: this.buffered }, 'audit: undelivered events are getting old');
    }
  }

  #checkIdle(): void {
    if (this.#idle && !this.#inFlight.size && !this.#busy) this.#idle();
  }

  async #write(batch: readonly Item[]): Promise<void> {
    const rows: AuditEvent[] = [];
    // The batch's last position in each segment it touches; signed once per segment, not per event.
    const ends = new Map<string, Omit<Checkpoint, 'mac'>>();
    for (const item of batch) {
      if ('close' in item) {
        ends.set(`${item.writer}\u0000${item.day}`, { writer: item.writer, day: item.day, count: item.count, lastHash: item.lastHash, closed: true });
      } else {
        rows.push(item);
        ends.set(`${item.writer}\u0000${item.day}`, { writer: item.writer, day: item.day, count: item.seq + 1, lastHash: item.hash, closed: false });
      }
    }
    const marks = new Map<string, Checkpoint>();
    for (const [key, c] of ends) marks.set(key, { ...c, mac: checkpointMac(this.#o.checkpointKeys, c) });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#store(rows, [...marks.values()]),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error('audit write timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' })), this.#o.writeTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    this.stats.written += rows.length;
    this.stats.batches++;
    if (this.#o.onCheckpoint) for (const c of marks.values()) this.#o.onCheckpoint(c);
  }

  /**
   * Writes a batch, creating its days' partitions first when they may not exist: each day three
   * days ahead of the newest one written, so midnight never waits on DDL; and on an insert into a
   * day with no partition (an old spill file, a clock far ahead), that day, then once more.
   */
  async #store(rows: readonly AuditEvent[], marks: readonly Checkpoint[]): Promise<void> {
    let newest = '';
    for (const r of rows) if (r.day > newest) newest = r.day;
    if (newest && (this.#partitionsThrough === null || newest > this.#partitionsThrough)) {
      const through = addDays(newest, 3);
      await ensureDayPartitions(this.#o.db, newest, through);
      this.#partitionsThrough = through;
    }
    try {
      await writeBatch(this.#o.db, rows, marks);
    } catch (error) {
      if (!isMissingPartition(error)) throw error;
      let oldest = newest;
      for (const r of rows) if (r.day < oldest) oldest = r.day;
      await ensureDayPartitions(this.#o.db, oldest, newest);
      await writeBatch(this.#o.db, rows, marks);
    }
  }

  /**
   * Removes this writer's spill files last written before `cutoff` (server-log retention): a file
   * is written once, so every event in it is older than its modification time. How many events went.
   */
  async purgeSpillBefore(cutoff: Date): Promise<number> {
    if (!this.#o.spillDir) return 0;
    const dir = await this.#directory();
    let removed = 0;
    for (const name of (await readdir(dir)).filter((f) => f.endsWith(SPILL_SUFFIX))) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      if (!info || info.mtimeMs >= cutoff.getTime()) continue;
      const text = await readFile(path, 'utf8').catch(() => '');
      await rm(path, { force: true });
      this.#spillBytes = Math.max(0, this.#spillBytes - info.size);
      const file = decodeSpill(text, this.#o.checkpointKeys);
      removed += 'items' in file ? file.items.filter((i) => !('close' in i)).length : 0;
    }
    return removed;
  }

  /** The writer's spill subdirectory, created and checked once (spill.ts). */
  #directory(): Promise<string> {
    this.#spillDirectory ??= prepareSpillDirectory(this.#o.spillDir!).then(async (d) => {
      // What waits there already (an earlier run's files) counts against the cap.
      for (const f of (await readdir(d.path)).filter((name) => name.endsWith(SPILL_SUFFIX))) this.#spillBytes += (await stat(join(d.path, f)).catch(() => ({ size: 0 }))).size;
      return d.path;
    });
    this.#spillDirectory.catch(() => (this.#spillDirectory = null));
    return this.#spillDirectory;
  }

  /**
   * Moves `count` items from the front of the queue to spill files, one file per contiguous run of
   * the chain: a batch that committed after an earlier one failed leaves a hole in the queue (its
   * events are stored), and a file must hold a run without holes to be linked on replay. Keeps the
   * items in memory if it cannot write them.
   */
  async #spill(count: number): Promise<void> {
    if (!this.#o.spillDir) return;
    let left = Math.min(count, this.#queue.length);
    while (left > 0 && !this.#full) {
      let run = 1;
      while (run < left && order(this.#queue[run]!) === order(this.#queue[run - 1]!) + 1) run++;
      if (!(await this.#spillRun(run))) return;
      left -= run;
    }
  }

  /** Writes the first `count` items of the queue (a contiguous run) to one spill file; false if it could not. */
  async #spillRun(count: number): Promise<boolean> {
    const items = this.#queue.slice(0, count);
    const name = `audit-${String(Date.now()).padStart(14, '0')}-${String(this.#spillFiles++).padStart(8, '0')}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const file: SpillFile = { writer: this.writer, after: (items[0] as Ordered)[PREV] ?? null, items };
    try {
      const dir = await this.#directory();
      const text = encodeSpill(file, this.#o.checkpointKeys);
      const bytes = Buffer.byteLength(text);
      if (this.#spillBytes + bytes > this.#maxSpill()) {
        // Full: what is queued stays in memory; new access events are dropped and counted until
        // writes succeed again (appendAccess); security events are still kept.
        this.#full = true;
        this.#o.logger.error({ code: 'HF_AUDIT_SPILL_FULL', spilledBytes: this.#spillBytes, maxBytes: this.#maxSpill() }, 'audit: spill directory full; access events are dropped and counted until the database is back');
        return false;
      }
      const temporary = join(dir, `${name}.tmp`);
      await writeFile(temporary, text, { mode: 0o600, flush: true });
      await rename(temporary, join(dir, name + SPILL_SUFFIX));
      this.#spillBytes += bytes;
    } catch (error) {
      this.#o.logger.error({ err: errorCodes(error) }, 'audit: cannot spill to disk; keeping events in memory');
      return false;
    }
    // Only append() touched the queue meanwhile, at its end: the spilled items are still its head.
    this.#queue.splice(0, items.length);
    for (const item of items) if (!('close' in item)) this.#take(item)?.reject(new AuditUnavailable());
    this.#spillPending = true;
    this.stats.spilled += items.filter((i) => !('close' in i)).length;
    this.#o.logger.warn({ spilled: items.length, file: name + SPILL_SUFFIX }, 'audit: database unavailable; events spilled to disk');
    return true;
  }

  /**
   * Replays every spill file in the directory (this run's and earlier runs', any writer's), in
   * name order, each only once it can be linked: a file whose predecessor is in a later file waits
   * for it within the same pass. What cannot be trusted or linked is moved to `rejected/`.
   */
  async #replaySpill(): Promise<void> {
    let dir: string;
    try {
      dir = await this.#directory();
    } catch (error) {
      this.#o.logger.error({ err: errorCodes(error) }, 'audit: the spill directory cannot be used; nothing replayed');
      return;
    }
    let pending = (await readdir(dir)).filter((f) => f.endsWith(SPILL_SUFFIX)).sort();
    /** Per writer: the last event replayed in this pass. */
    const tails = new Map<string, ChainPosition>();
    const deferred = new Map<string, string>();
    let progress = true;
    while (pending.length && progress) {
      progress = false;
      const next: string[] = [];
      for (const file of pending) {
        const outcome = await this.#replayFile(dir, file, tails);
        if (typeof outcome === 'object' && 'defer' in outcome) {
          next.push(file);
          deferred.set(file, outcome.defer);
          continue;
        }
        progress = true;
        if (typeof outcome === 'object') await this.#reject(dir, file, outcome.reject);
      }
      pending = next;
    }
    for (const file of pending) await this.#reject(dir, file, deferred.get(file) ?? 'cannot be linked');
  }

  /** One file: verified whole before anything of it is inserted or signed. Database errors throw (retried later). */
  async #replayFile(dir: string, name: string, tails: Map<string, ChainPosition>): Promise<Replayed> {
    const path = join(dir, name);
    let text: string;
    try {
      if (!(await stat(path)).isFile()) return { reject: 'not a regular file' };
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return 'gone'; // another replica replayed it
      throw error;
    }
    const file = decodeSpill(text, this.#o.checkpointKeys);
    if ('error' in file) return { reject: file.error };
    const events = file.items.filter((i): i is AuditEvent => !('close' in i));
    // What of the file is stored already (a write that committed after it timed out): the same
    // events with the same hashes, or the file is not what was written.
    const stored = await storedHashes(this.#o.db, events.map((e) => e.id));
    let start = 0;
    let position = file.after;
    for (const item of file.items) {
      if ('close' in item || !stored.has(item.id)) break;
      if (stored.get(item.id) !== item.hash) return { reject: 'an event of the file is stored with another hash' };
      position = { id: item.id, hash: item.hash, day: item.day, seq: item.seq };
      start++;
    }
    if (events.some((e, i) => i >= start && stored.has(e.id) && stored.get(e.id) !== e.hash)) return { reject: 'an event of the file is stored with another hash' };
    // The anchor: the file's first item follows an event that is stored, or that the file replayed
    // just before ended with, or (no predecessor) the writer's genesis.
    if (start === 0 && file.after) {
      const tail = tails.get(file.writer);
      const linked = (tail && tail.id === file.after.id && tail.hash === file.after.hash) || (await storedHashes(this.#o.db, [file.after.id])).get(file.after.id) === file.after.hash;
      if (!linked) return { defer: 'does not link onto the stored chain: the event it follows is not stored' };
    }
    const problem = chainProblem(file, start, position);
    if (problem) return { reject: problem };
    const rest = file.items.slice(start);
    for (let i = 0; i < rest.length; i += this.#o.batchSize) await this.#write(rest.slice(i, i + this.#o.batchSize));
    await rm(path, { force: true });
    this.#spillBytes = Math.max(0, this.#spillBytes - Buffer.byteLength(text));
    const last = events.at(-1);
    if (last) tails.set(file.writer, { id: last.id, hash: last.hash, day: last.day, seq: last.seq });
    this.stats.replayed += rest.filter((i) => !('close' in i)).length;
    return 'done';
  }

  /** Moves a file aside, logs it and records it in the chain (once: the file is gone from the directory). */
  async #reject(dir: string, name: string, reason: string): Promise<void> {
    const size = (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
    this.#spillBytes = Math.max(0, this.#spillBytes - size);
    try {
      await mkdir(join(dir, 'rejected'), { recursive: true, mode: 0o700 });
      await rename(join(dir, name), join(dir, 'rejected', name));
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return; // another replica dealt with it
      await rm(join(dir, name), { force: true }).catch(() => undefined);
    }
    this.stats.rejected++;
    this.#o.logger.error({ code: SPILL_REJECTED, file: name, reason }, 'audit: spill file rejected and moved to rejected/');
    try {
      this.append({ kind: 'security', action: 'audit.spill.rejected', outcome: 'failure', resource: `spill-file:${name}`, details: { code: SPILL_REJECTED, file: name, reason } });
    } catch {
      // closing: the log line stands
    }
  }

  /** Resolves once every event appended so far is committed; rejects if a write fails first. */
  flush(): Promise<void> {
    if (this.#ordinal === 0 || (this.#pendingFloor() === Infinity && !this.#spilledPending())) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#flushes.push({ through: this.#ordinal - 1, waiter: { resolve, reject } }));
    this.#kick(true);
    return done;
  }

  #closed: Promise<void> | null = null;

  /** Closes the open segment and delivers everything: to the database (one attempt), else to the spill directory. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#seq > 0) this.#push(this.#segmentClose());
      this.#closing = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      if (this.#backoff) clearTimeout(this.#backoff);
      this.#backoff = null;
      const idle = () => new Promise<void>((resolve) => {
        this.#idle = resolve;
        this.#checkIdle();
      });
      await idle();
      // One more pass at the database while closing: the first failure ends it, no backoff.
      this.#failures = 0;
      this.#pump(true);
      await idle();
      if (this.#queue.length) await this.#spill(this.#queue.length);
      if (this.#queue.length) this.#o.logger.error({ lost: this.#queue.length }, 'audit: events could be neither written nor spilled');
      for (const [, w] of this.#waiters) w.reject(new AuditUnavailable());
      this.#waiters.clear();
      for (const f of this.#flushes) f.waiter.reject(new AuditUnavailable());
      this.#flushes = [];
    })();
    return this.#closed;
  }
}


/**
 * Recomputes a spill file's chain from item `start` on: every event's own hash and digest, each
 * link, seq and segment end, beginning at the position the file (or its stored prefix) follows.
 */
function chainProblem(file: SpillFile, start: number, after: ChainPosition | null): string | null {
  let day = after?.day ?? null;
  let seq = after?.seq ?? -1;
  let hash = after?.hash ?? genesisHash(file.writer);
  for (let i = start; i < file.items.length; i++) {
    const item = file.items[i]!;
    if (item.writer !== file.writer) return 'an item belongs to another writer';
    if ('close' in item) {
      if (item.day !== day || item.count !== seq + 1 || item.lastHash !== hash) return 'a segment end does not match the events before it';
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
