/**
 * Postgres binary COPY (`COPY ... FROM STDIN (FORMAT binary)`): an encoder of the format
 * (pgcopy-stream.ts sends it). The audit writer's batches take this path on Postgres: the rows
 * reach the server already in their binary form, so neither the driver nor Postgres parses text
 * (the UNNEST form sent one array literal per column, which the server parsed back element by
 * element).
 *
 * The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): an 11-byte
 * signature, a 32-bit flags field and a 32-bit header-extension length; then each tuple as a 16-bit
 * field count followed by each field as a 32-bit byte length (-1 for NULL) and the bytes in the
 * type's binary send format (network byte order); then a 16-bit -1 as the trailer.
 */
import { CopyValueError, DAY_MS, unixDaysOf, uuidHexOf, type CopyType } from './pgcopy-values.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Postgres' epoch, 2000-01-01T00:00:00Z, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 2 ** 32;

/**
 * Encodes rows into one buffer. Either `row(values)` (types from the constructor), or, on a hot
 * path, `tuple(n)` followed by one typed call per field (`int4`, `text`, `nil`...), which skips
 * the per-value type dispatch. `finish()` adds the trailer and returns the bytes; the encoder can
 * then be `reset()` and reused, keeping its buffer.
 */
export class CopyEncoder {
  readonly types: readonly CopyType[];
  #buf: Buffer;
  #off = 0;
  #rows = 0;

  constructor(types: readonly CopyType[] = [], initialBytes = 64 * 1024) {
    this.types = types;
    this.#buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
    this.reset();
  }

  /** Rows encoded since the last reset. */
  get rows(): number {
    return this.#rows;
  }

  /** Bytes encoded so far (header included, trailer not). */
  get length(): number {
    return this.#off;
  }

  reset(): this {
    this.#off = 0;
    this.#rows = 0;
    this.#reserve(SIGNATURE.length + 8);
    this.#off += SIGNATURE.copy(this.#buf, 0);
    this.#buf.writeInt32BE(0, this.#off); // flags: no OIDs
    this.#buf.writeInt32BE(0, this.#off + 4); // no header extension
    this.#off += 8;
    return this;
  }

  #reserve(bytes: number): void {
    if (this.#off + bytes <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#off + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buf.copy(grown, 0, 0, this.#off);
    this.#buf = grown;
  }

  /** Starts a tuple of `fields` fields. */
  tuple(fields: number): this {
    this.#reserve(2);
    this.#buf.writeInt16BE(fields, this.#off);
    this.#off += 2;
    this.#rows++;
    return this;
  }

  nil(): this {
    this.#reserve(4);
    this.#buf.writeInt32BE(-1, this.#off);
    this.#off += 4;
    return this;
  }

  int2(v: number): this {
    if (!Number.isInteger(v) || v < -32_768 || v > 32_767)
      throw new CopyValueError('int2', 'is not an integer from -32768 to 32767');
    this.#reserve(6);
    this.#buf.writeInt32BE(2, this.#off);
    this.#buf.writeInt16BE(v, this.#off + 4);
    this.#off += 6;
    return this;
  }

  int4(v: number): this {
    if (!Number.isInteger(v) || v < -2_147_483_648 || v > 2_147_483_647)
      throw new CopyValueError('int4', 'is not a 32-bit integer');
    this.#reserve(8);
    this.#buf.writeInt32BE(4, this.#off);
    this.#buf.writeInt32BE(v, this.#off + 4);
    this.#off += 8;
    return this;
  }

  int8(v: number | bigint): this {
    if (typeof v === 'bigint') {
      if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new CopyValueError('int8', 'is out of range');
      this.#reserve(12);
      this.#buf.writeInt32BE(8, this.#off);
      this.#buf.writeBigInt64BE(v, this.#off + 4);
      this.#off += 12;
      return this;
    }
    if (!Number.isSafeInteger(v)) throw new CopyValueError('int8', 'is not a safe integer (pass a bigint)');
    this.#reserve(12);
    this.#buf.writeInt32BE(8, this.#off);
    this.#int64(v, this.#off + 4);
    this.#off += 12;
    return this;
  }

  /** A safe integer as a big-endian two's complement 64-bit value. */
  #int64(v: number, at: number): void {
    const hi = Math.floor(v / TWO_32);
    this.#buf.writeInt32BE(hi, at);
    this.#buf.writeUInt32BE(v - hi * TWO_32, at + 4);
  }

  float8(v: number): this {
    if (typeof v !== 'number') throw new CopyValueError('float8', 'is not a number');
    this.#reserve(12);
    this.#buf.writeInt32BE(8, this.#off);
    this.#buf.writeDoubleBE(v, this.#off + 4);
    this.#off += 12;
    return this;
  }

  bool(v: boolean): this {
    if (typeof v !== 'boolean') throw new CopyValueError('bool', 'is not a boolean');
    this.#reserve(5);
    this.#buf.writeInt32BE(1, this.#off);
    this.#buf[this.#off + 4] = v ? 1 : 0;
    this.#off += 5;
    return this;
  }

  bytea(v: Uint8Array): this {
    if (!(v instanceof Uint8Array)) throw new CopyValueError('bytea', 'is not a Uint8Array');
    this.#reserve(4 + v.length);
    this.#buf.writeInt32BE(v.length, this.#off);
    this.#buf.set(v, this.#off + 4);
    this.#off += 4 + v.length;
    return this;
  }

  /** UTF-8 text. A NUL character is refused, as Postgres refuses it in text. */
  text(v: string): this {
    if (typeof v !== 'string') throw new CopyValueError('text', 'is not a string');
    if (v.includes('\0')) throw new CopyValueError('text', 'holds a NUL character');
    return this.#utf8(v, 0);
  }

  /** A jsonb value from its JSON text (binary jsonb is a version byte, 1, and the text). */
  jsonb(json: string): this {
    if (typeof json !== 'string') throw new CopyValueError('jsonb', 'is not JSON text');
    if (json.includes('\\u0000')) throw new CopyValueError('jsonb', 'holds a NUL character');
    return this.#utf8(json, 1);
  }

  #utf8(v: string, version: 0 | 1): this {
    const head = version ? 5 : 4;
    // At most 3 bytes per UTF-16 unit: write, then fill in the length actually written.
    this.#reserve(head + v.length * 3);
    if (version) this.#buf[this.#off + 4] = 1;
    const n = this.#buf.write(v, this.#off + head, 'utf8');
    this.#buf.writeInt32BE(n + head - 4, this.#off);
    this.#off += head + n;
    return this;
  }

  /** A UUID from its 16 bytes or its text form. */
  uuid(v: Uint8Array | string): this {
    this.#reserve(20);
    this.#buf.writeInt32BE(16, this.#off);
    if (typeof v === 'string') {
      this.#buf.write(uuidHexOf(v), this.#off + 4, 16, 'hex');
    } else {
      if (!(v instanceof Uint8Array) || v.length !== 16) throw new CopyValueError('uuid', 'is not 16 bytes');
      this.#buf.set(v, this.#off + 4);
    }
    this.#off += 20;
    return this;
  }

  /** A date from 'YYYY-MM-DD' (UTC calendar day) or from days since the Unix epoch. */
  date(v: string | number): this {
    const unixDays = typeof v === 'number' ? v : unixDaysOf(v);
    return this.#int4Field(unixDays - PG_EPOCH_MS / DAY_MS, 'date');
  }

  /** A timestamptz from a Date or Unix milliseconds (sub-millisecond fractions kept to the microsecond). */
  timestamptz(v: Date | number): this {
    const ms = typeof v === 'number' ? v : v instanceof Date ? v.getTime() : NaN;
    if (!Number.isFinite(ms)) throw new CopyValueError('timestamptz', 'is not a valid time');
    const micros = Math.round((ms - PG_EPOCH_MS) * 1000);
    if (!Number.isSafeInteger(micros)) throw new CopyValueError('timestamptz', 'is out of range');
    this.#reserve(12);
    this.#buf.writeInt32BE(8, this.#off);
    this.#int64(micros, this.#off + 4);
    this.#off += 12;
    return this;
  }

  #int4Field(v: number, type: CopyType): this {
    if (!Number.isInteger(v) || v < -2_147_483_648 || v > 2_147_483_647)
      throw new CopyValueError(type, 'is out of range');
    this.#reserve(8);
    this.#buf.writeInt32BE(4, this.#off);
    this.#buf.writeInt32BE(v, this.#off + 4);
    this.#off += 8;
    return this;
  }

  /** One value of a column of this type; null and undefined are NULL. */
  value(type: CopyType, v: unknown): this {
    if (v === null || v === undefined) return this.nil();
    switch (type) {
      case 'int2':
        return this.int2(v as number);
      case 'int4':
        return this.int4(v as number);
      case 'int8':
        return this.int8(v as number | bigint);
      case 'float8':
        return this.float8(v as number);
      case 'bool':
        return this.bool(v as boolean);
      case 'bytea':
        return this.bytea(v as Uint8Array);
      case 'text':
        return this.text(v as string);
      case 'uuid':
        return this.uuid(v as Uint8Array | string);
      case 'date':
        return this.date(v as string | number);
      case 'timestamptz':
        return this.timestamptz(v as Date | number);
      case 'jsonb':
        return this.jsonb(v as string);
    }
  }

  /**
   * One row, a value per column of the constructor's types. A value that does not fit leaves the
   * encoder as it was before the call (no half-written tuple).
   */
  row(values: readonly unknown[]): this {
    if (values.length !== this.types.length)
      throw new TypeError(`a COPY row needs ${this.types.length} values, got ${values.length}`);
    const off = this.#off;
    const rows = this.#rows;
    try {
      this.tuple(values.length);
      for (let i = 0; i < values.length; i++) this.value(this.types[i]!, values[i]);
    } catch (error) {
      this.#off = off;
      this.#rows = rows;
      throw error;
    }
    return this;
  }

  /** The encoded bytes with the trailer: a view of the encoder's buffer, valid until the next call. */
  finish(): Buffer {
    this.#reserve(2);
    this.#buf.writeInt16BE(-1, this.#off);
    return this.#buf.subarray(0, this.#off + 2);
  }
}
