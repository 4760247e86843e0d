/**
 * The audit writer: turns inputs into chained events and delivers them at least once.
 *
 * - Each writer instance owns one hash chain, segmented by UTC day (event.ts has the rules).
 * - Events queue in memory and are written in batches (size or interval, whichever comes first),
 *   one statement per batch (store.ts). Inserts are idempotent on the UUIDv7 id, so a batch whose
 *   commit was not acknowledged can be written again.
 * - A failed batch is retried with capped exponential backoff and full jitter. Past `maxBuffered`
 *   events the oldest are spilled to NDJSON files (written whole, then renamed, so a crash never
 *   leaves half a line) and replayed, then deleted, once the database answers again.
 * - `sync` events resolve when their batch commits and reject if it fails (fail closed). The event
 *   stays queued: the chain needs it, and it records that the action was attempted.
 * - close() closes the open segment, flushes, and spills whatever the database would not take.
 */
import type { Database } from '@harakaflow/db';
import { openValue, sealValue, type SigningKey } from '@harakaflow/core';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { AuditUnavailable } from './errors.js';
import { checkpointPayload, eventHash, genesisHash, personalDigest, utcDay, type AuditEvent, type AuditEventInput } from './event.js';
import { writeBatch, type Checkpoint } from './store.js';

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
  flushIntervalMs: number;
  maxBuffered: number;
  spillDir: string | null;
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

/** A segment's end, queued behind its last event so it is written after it. */
interface SegmentClose {
  close: true;
  writer: string;
  day: string;
  count: number;
  lastHash: string;
}

type Item = AuditEvent | SegmentClose;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

const SPILL_SUFFIX = '.ndjson';

export function checkpointMac(keys: readonly SigningKey[], c: Omit<Checkpoint, 'mac'>): string {
  const sealed = sealValue('hf-audit-checkpoint', checkpointPayload(c.writer, c.day, c.count, c.lastHash, c.closed), keys[0]!);
  return sealed.slice(sealed.lastIndexOf('.') + 1);
}

export function checkpointValid(keys: readonly SigningKey[], c: Checkpoint): boolean {
  const payload = checkpointPayload(c.writer, c.day, c.count, c.lastHash, c.closed);
  return openValue('hf-audit-checkpoint', `${payload}.${c.mac}`, keys, Infinity) !== null;
}

// Salts come from a pooled CSPRNG buffer: one randomBytes call per 256 events instead of one each.
let pool = Buffer.alloc(0);
let poolAt = 0;
function salt(): string {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  const out = pool.toString('base64', poolAt, poolAt + 16);
  poolAt += 16;
  return out;
}

export class AuditWriter {
  readonly writer: string;
  readonly #o: WriterOptions;
  readonly #now: () => Date;
  #day: string | null = null;
  #seq = 0;
  #prevHash: string;
  #queue: Item[] = [];
  #waiters = new Map<AuditEvent, Waiter>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #failures = 0;
  #spillPending = true; // files left by an earlier run are replayed first
  #closing = false;
  #lastStaleWarning = 0;
  /** Counters for tests, metrics and the benchmark. */
  readonly stats = { written: 0, batches: 0, failedBatches: 0, spilled: 0, replayed: 0 };

  constructor(options: WriterOptions) {
    this.#o = options;
    this.writer = options.writer;
    this.#now = options.now ?? (() => new Date());
    this.#prevHash = genesisHash(options.writer);
  }

  /** Events waiting in memory (not yet committed or spilled). */
  get buffered(): number {
    return this.#queue.length;
  }

  /**
   * Chains and queues an event. Returns the event; with `sync`, also a promise of its commit.
   * Must be called in order: the chain is built here, synchronously.
   */
  append(input: AuditEventInput, sync = false): { event: AuditEvent; committed: Promise<void> | null } {
    if (this.#closing) throw new AuditUnavailable();
    const occurredAt = this.#now();
    let day = utcDay(occurredAt);
    // A clock stepping back over midnight must not reopen a closed segment.
    if (this.#day !== null && day < this.#day) day = this.#day;
    if (day !== this.#day) {
      if (this.#day !== null && this.#seq > 0) this.#queue.push(this.#segmentClose());
      this.#day = day;
      this.#seq = 0;
    }
    const subjectId = input.subjectId ?? null;
    const ip = input.ip ?? null;
    const userAgent = input.userAgent ?? null;
    const personalSalt = salt();
    const event: AuditEvent = {
      id: uuidv7(), // monotonic within the process: same-millisecond events sort in chain order
      occurredAt,
      writer: this.writer,
      day,
      seq: this.#seq,
      kind: input.kind,
      action: input.action,
      resource: input.resource ?? null,
      outcome: input.outcome ?? null,
      requestId: input.requestId ?? null,
      method: input.method ?? null,
      route: input.route ?? null,
      path: input.path ?? null,
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
      details: input.details ?? null,
      personalSalt,
      personalDigest: personalDigest(personalSalt, subjectId, ip, userAgent),
      prevHash: this.#prevHash,
      hash: '',
      erasedAt: null,
    };
    event.hash = eventHash(event);
    this.#prevHash = event.hash;
    this.#seq++;
    this.#queue.push(event);

    let committed: Promise<void> | null = null;
    if (sync) {
      committed = new Promise<void>((resolve, reject) => this.#wait(event, { resolve, reject }));
      this.#kick(true);
    } else {
      this.#kick(this.#queue.length >= this.#o.batchSize || this.#queue.length > this.#o.maxBuffered);
    }
    return { event, committed };
  }

  #segmentClose(): SegmentClose {
    return { close: true, writer: this.writer, day: this.#day!, count: this.#seq, lastHash: this.#prevHash };
  }

  /** Starts a flush now (`immediate`) or after the interval; wakes a retry that is backing off. */
  #kick(immediate: boolean): void {
    if (this.#running) {
      if (immediate && this.#wake) this.#wake();
      return;
    }
    if (this.#timer && !immediate) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#drain().finally(() => {
        this.#running = null;
        if (this.#queue.length && !this.#closing) this.#kick(false);
      });
    }, immediate ? 0 : this.#o.flushIntervalMs);
    this.#timer.unref();
  }

  /** Writes until the queue is empty; backs off while the database fails. */
  async #drain(): Promise<void> {
    for (;;) {
      if (this.#spillPending && this.#o.spillDir) {
        try {
          await this.#replaySpill();
          this.#spillPending = false;
        } catch (error) {
          if (!(await this.#failed(error))) return;
          continue;
        }
      }
      if (!this.#queue.length) return;
      const batch = this.#queue.slice(0, this.#o.batchSize);
      try {
        await this.#write(batch);
      } catch (error) {
        const waiters = batch.map((item) => this.#settle(item)).filter((w): w is Waiter => w !== undefined);
        for (const w of waiters) w.reject(new AuditUnavailable());
        if (!(await this.#failed(error))) return;
        continue;
      }
      // The batch was the head of the queue: spilling only ever takes items behind it.
      this.#queue.splice(0, batch.length);
      for (const item of batch) this.#settle(item)?.resolve();
      this.#failures = 0;
    }
  }

  #settle(item: Item): Waiter | undefined {
    if ('close' in item) return undefined;
    const waiter = this.#waiters.get(item);
    if (waiter) this.#waiters.delete(item);
    return waiter;
  }

  /** After a failed write: spill if over the bound, warn if stale, wait. False when closing gives up. */
  async #failed(error: unknown): Promise<boolean> {
    this.#failures++;
    this.stats.failedBatches++;
    this.#o.logger.error({ err: errorCodes(error), buffered: this.#queue.length, attempt: this.#failures }, 'audit: write failed; retrying');
    if (this.#queue.length > this.#o.maxBuffered) await this.#spill(this.#queue.length - Math.floor(this.#o.maxBuffered / 2));
    this.#warnIfStale();
    if (this.#closing) return false;
    const cap = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(this.#failures - 1, 20));
    const delay = Math.random() * cap; // full jitter: replicas that failed together do not retry together
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, delay);
      t.unref();
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = null;
    if (this.#queue.length > this.#o.maxBuffered) await this.#spill(this.#queue.length - Math.floor(this.#o.maxBuffered / 2));
    return true;
  }

  #warnIfStale(): void {
    const head = this.#queue.find((item): item is AuditEvent => !('close' in item));
    if (!head) return;
    const now = this.#now().getTime();
    const age = now - head.occurredAt.getTime();
    if (age > this.#o.staleAfterMs && now - this.#lastStaleWarning > this.#o.staleAfterMs) {
      this.#lastStaleWarning = now;
      this.#o.logger.warn({ oldestAgeMs: age, buffered: this.#queue.length }, 'audit: undelivered events are getting old');
    }
  }

  async #write(batch: readonly Item[]): Promise<void> {
    const rows: AuditEvent[] = [];
    const marks = new Map<string, Checkpoint>();
    for (const item of batch) {
      const c =
        'close' in item
          ? { writer: item.writer, day: item.day, count: item.count, lastHash: item.lastHash, closed: true }
          : (rows.push(item), { writer: item.writer, day: item.day, count: item.seq + 1, lastHash: item.hash, closed: false });
      marks.set(`${c.writer}\u0000${c.day}`, { ...c, mac: checkpointMac(this.#o.checkpointKeys, c) });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        writeBatch(this.#o.db, rows, [...marks.values()]),
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

  /** Moves `count` items from the front of the queue to a spill file. Keeps them in memory if it cannot. */
  async #spill(count: number): Promise<void> {
    if (!this.#o.spillDir || count <= 0) return;
    const items = this.#queue.slice(0, count);
    const name = `audit-${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    // U+2028/2029 are valid in JSON but are line breaks to some readers: escape them too.
    const text = items.map((item) => JSON.stringify(item).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')).join('\n') + '\n';
    try {
      await mkdir(this.#o.spillDir, { recursive: true, mode: 0o700 });
      const temporary = join(this.#o.spillDir, `${name}.tmp`);
      await writeFile(temporary, text, { mode: 0o600, flush: true });
      await rename(temporary, join(this.#o.spillDir, name + SPILL_SUFFIX));
    } catch (error) {
      this.#o.logger.error({ err: errorCodes(error) }, 'audit: cannot spill to disk; keeping events in memory');
      return;
    }
    this.#queue.splice(0, items.length);
    for (const item of items) this.#settle(item)?.reject(new AuditUnavailable());
    this.#spillPending = true;
    this.stats.spilled += items.filter((i) => !('close' in i)).length;
    this.#o.logger.warn({ spilled: items.length, file: name + SPILL_SUFFIX }, 'audit: database unavailable; events spilled to disk');
  }

  /** Writes every spill file in the directory (this run's and earlier runs'), oldest first, then deletes it. */
  async #replaySpill(): Promise<void> {
    const dir = this.#o.spillDir!;
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith(SPILL_SUFFIX)).sort();
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return;
      throw error;
    }
    for (const file of files) {
      const path = join(dir, file);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') continue; // another replica replayed it
        throw error;
      }
      const items = text.split('\n').filter(Boolean).map(reviveItem);
      for (let i = 0; i < items.length; i += this.#o.batchSize) await this.#write(items.slice(i, i + this.#o.batchSize));
      await rm(path, { force: true });
      this.stats.replayed += items.filter((i) => !('close' in i)).length;
    }
  }

  /** Resolves once every event queued so far is committed; rejects if the database refuses it. */
  flush(): Promise<void> {
    const last = this.#queue.findLast((item): item is AuditEvent => !('close' in item));
    if (!last) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#wait(last, { resolve, reject }));
    this.#kick(true);
    return done;
  }

  #wait(event: AuditEvent, waiter: Waiter): void {
    const earlier = this.#waiters.get(event);
    this.#waiters.set(
      event,
      earlier
        ? { resolve: () => (earlier.resolve(), waiter.resolve()), reject: (e) => (earlier.reject(e), waiter.reject(e)) }
        : waiter,
    );
  }

  #closed: Promise<void> | null = null;

  /** Closes the open segment and delivers everything: to the database, else to the spill directory. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#seq > 0) this.#queue.push(this.#segmentClose());
      this.#closing = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.#wake?.();
      if (this.#running) await this.#running;
      // One more pass: while closing, the first failure ends it instead of backing off.
      if (this.#queue.length || (this.#spillPending && this.#o.spillDir)) {
        this.#running = this.#drain();
        await this.#running;
        this.#running = null;
      }
      if (this.#queue.length) await this.#spill(this.#queue.length);
      if (this.#queue.length) this.#o.logger.error({ lost: this.#queue.length }, 'audit: events could be neither written nor spilled');
      for (const [, w] of this.#waiters) w.reject(new AuditUnavailable());
      this.#waiters.clear();
    })();
    return this.#closed;
  }
}

/**
 * The codes of an error and its causes, nothing else: a driver's message quotes the failed query
 * with its parameters, which are the events themselves (IPs, user agents, subject ids).
 */
export function errorCodes(error: unknown): { codes: string[] } {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[\w.-]{1,40}$/.test(code)) codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return { codes };
}

function reviveItem(line: string): Item {
  const item = JSON.parse(line) as Item & { occurredAt?: string; erasedAt?: string | null };
  if ('close' in item) return item;
  return { ...item, occurredAt: new Date(item.occurredAt as unknown as string), erasedAt: item.erasedAt ? new Date(item.erasedAt) : null } as AuditEvent;
}
