/**
 * The export as a zip (issue 14 item 3, `Accept: application/zip`): one entry per part
 * (`<handler>.json`) and `manifest.json`, cut from the stored JSON document as it is decrypted, in
 * one pass, never held whole. Entries are stored (no compression: the bytes are exactly those the
 * manifest hashes), sizes and CRC-32 follow each entry in a data descriptor, and the central
 * directory comes last (APPNOTE 6.3.x), in zip64 form where a size or an offset passes 4 GiB.
 */
import { crc32 } from 'node:zlib';

/** A range of the stored document that becomes one entry. */
export interface ZipEntry {
  name: string;
  start: number;
  end: number;
}

const FLAGS = 0x0808; // bit 3: sizes in the data descriptor; bit 11: UTF-8 names
const MAX = 0xffffffff;
const ZIP64_EXTRA = 0x0001;

function dosTime(date: Date): { time: number; date: number } {
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

/** A zip64 extended-information extra field holding `values` (8 bytes each, APPNOTE 4.5.3). */
function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(ZIP64_EXTRA, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

/**
 * A local header. For a zip64 entry its sizes are 0xFFFFFFFF and a zip64 extra field (sizes 0, as
 * the descriptor after the data carries them) says the descriptor's sizes are 8 bytes each.
 */
function localHeader(name: Buffer, t: { time: number; date: number }, zip64: boolean): Buffer {
  const extra = zip64 ? zip64Extra([0, 0]) : Buffer.alloc(0);
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(zip64 ? 45 : 20, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(0, 8); // stored
  b.writeUInt16LE(t.time, 10);
  b.writeUInt16LE(t.date, 12);
  // CRC 0 here, in the descriptor after the data; sizes too (or 0xFFFFFFFF: in the zip64 field).
  if (zip64) {
    b.writeUInt32LE(MAX, 18);
    b.writeUInt32LE(MAX, 22);
  }
  b.writeUInt16LE(name.length, 26);
  b.writeUInt16LE(extra.length, 28);
  return Buffer.concat([b, name, extra]);
}

function descriptor(crc: number, size: number, zip64: boolean): Buffer {
  const b = Buffer.alloc(zip64 ? 24 : 16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(crc >>> 0, 4);
  if (zip64) {
    b.writeBigUInt64LE(BigInt(size), 8);
    b.writeBigUInt64LE(BigInt(size), 16);
  } else {
    b.writeUInt32LE(size, 8);
    b.writeUInt32LE(size, 12);
  }
  return b;
}

/** A central header: sizes and offset that do not fit (or all, when forced) go to a zip64 field. */
function centralHeader(
  name: Buffer,
  t: { time: number; date: number },
  crc: number,
  size: number,
  offset: number,
  zip64: boolean,
  force: boolean,
): Buffer {
  const bigOffset = force || offset >= MAX;
  const values = [...(zip64 ? [size, size] : []), ...(bigOffset ? [offset] : [])];
  const extra = values.length ? zip64Extra(values) : Buffer.alloc(0);
  const version = values.length ? 45 : 20;
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(version, 4);
  b.writeUInt16LE(version, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(t.time, 12);
  b.writeUInt16LE(t.date, 14);
  b.writeUInt32LE(crc >>> 0, 16);
  b.writeUInt32LE(zip64 ? MAX : size, 20);
  b.writeUInt32LE(zip64 ? MAX : size, 24);
  b.writeUInt16LE(name.length, 28);
  b.writeUInt16LE(extra.length, 30);
  b.writeUInt32LE(bigOffset ? MAX : offset, 42);
  return Buffer.concat([b, name, extra]);
}

/**
 * The end of the central directory; when a count, size or offset does not fit (or when forced),
 * preceded by the zip64 end record and its locator, the classic record's fields then 0xFFFF...
 */
function endOfDirectory(count: number, size: number, offset: number, force: boolean): Buffer {
  const zip64 = force || count >= 0xffff || size >= MAX || offset >= MAX;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : count, 8);
  end.writeUInt16LE(zip64 ? 0xffff : count, 10);
  end.writeUInt32LE(zip64 ? MAX : size, 12);
  end.writeUInt32LE(zip64 ? MAX : offset, 16);
  if (!zip64) return end;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4); // the size of what follows this field
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(size), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + size), 8); // where the zip64 end record starts
  locator.writeUInt32LE(1, 16);
  return Buffer.concat([record, locator, end]);
}

/**
 * The zip of `entries` (in document order, not overlapping), cut from the document's bytes. An
 * entry of 4 GiB or more, or one that starts past 4 GiB, is written in zip64 form (its size is known
 * from the layout before its header is written); `forceZip64` writes every entry so (tests).
 */
export async function* zipFromRanges(
  document: AsyncIterable<Buffer>,
  entries: readonly ZipEntry[],
  at: Date,
  forceZip64 = false,
): AsyncGenerator<Buffer> {
  const t = dosTime(at);
  const central: Buffer[] = [];
  let written = 0;
  let position = 0; // offset in the document of the next byte
  let index = 0;
  let crc = 0;
  let open = false;
  let zip64 = false;
  let entryOffset = 0;
  const emit = (b: Buffer) => {
    written += b.length;
    return b;
  };
  for await (const chunk of document) {
    let from = 0;
    while (from < chunk.length && index < entries.length) {
      const entry = entries[index]!;
      const name = Buffer.from(entry.name);
      const at0 = position + from;
      if (!open) {
        if (at0 < entry.start) {
          from = Math.min(chunk.length, from + (entry.start - at0));
          continue;
        }
        entryOffset = written;
        zip64 = forceZip64 || entry.end - entry.start >= MAX;
        yield emit(localHeader(name, t, zip64));
        crc = 0;
        open = true;
      }
      const take = Math.min(chunk.length - from, entry.end - (position + from));
      if (take > 0) {
        const piece = chunk.subarray(from, from + take);
        crc = crc32(piece, crc);
        yield emit(piece);
        from += take;
      }
      if (position + from >= entry.end) {
        const size = entry.end - entry.start;
        yield emit(descriptor(crc, size, zip64));
        central.push(centralHeader(name, t, crc, size, entryOffset, zip64, forceZip64));
        open = false;
        index++;
      }
    }
    position += chunk.length;
  }
  if (index < entries.length)
    throw Object.assign(new Error('the stored export ended before its last part'), {
      code: 'HF_DATA_RIGHTS_EXPORT_DAMAGED',
    });
  const directory = Buffer.concat(central);
  const directoryOffset = written;
  yield emit(directory);
  yield emit(endOfDirectory(central.length, directory.length, directoryOffset, forceZip64));
}
