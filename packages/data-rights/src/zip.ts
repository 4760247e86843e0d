/**
 * The export as a zip (issue 14 item 3, `Accept: application/zip`): one entry per part
 * (`<handler>.json`) and `manifest.json`, cut from the stored JSON document as it is decrypted, in
 * one pass, never held whole. Entries are stored (no compression: the bytes are exactly those the
 * manifest hashes), sizes and CRC-32 follow each entry in a data descriptor, and the central
 * directory comes last (APPNOTE 6.3.x; no zip64, so a part is at most 4 GiB).
 */
import { crc32 } from 'node:zlib';

/** A range of the stored document that becomes one entry. */
export interface ZipEntry {
  name: string;
  start: number;
  end: number;
}

const FLAGS = 0x0808; // bit 3: sizes in the data descriptor; bit 11: UTF-8 names

function dosTime(date: Date): { time: number; date: number } {
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}

function localHeader(name: Buffer, t: { time: number; date: number }): Buffer {
  const b = Buffer.alloc(30);
  b.writeUInt32LE(0x04034b50, 0);
  b.writeUInt16LE(20, 4);
  b.writeUInt16LE(FLAGS, 6);
  b.writeUInt16LE(0, 8); // stored
  b.writeUInt16LE(t.time, 10);
  b.writeUInt16LE(t.date, 12);
  // CRC and sizes: 0 here, in the descriptor after the data.
  b.writeUInt16LE(name.length, 26);
  return Buffer.concat([b, name]);
}

function descriptor(crc: number, size: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0x08074b50, 0);
  b.writeUInt32LE(crc >>> 0, 4);
  b.writeUInt32LE(size, 8);
  b.writeUInt32LE(size, 12);
  return b;
}

function centralHeader(name: Buffer, t: { time: number; date: number }, crc: number, size: number, offset: number): Buffer {
  const b = Buffer.alloc(46);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(20, 4);
  b.writeUInt16LE(20, 6);
  b.writeUInt16LE(FLAGS, 8);
  b.writeUInt16LE(0, 10);
  b.writeUInt16LE(t.time, 12);
  b.writeUInt16LE(t.date, 14);
  b.writeUInt32LE(crc >>> 0, 16);
  b.writeUInt32LE(size, 20);
  b.writeUInt32LE(size, 24);
  b.writeUInt16LE(name.length, 28);
  b.writeUInt32LE(offset, 42);
  return Buffer.concat([b, name]);
}

function endOfDirectory(count: number, size: number, offset: number): Buffer {
  const b = Buffer.alloc(22);
  b.writeUInt32LE(0x06054b50, 0);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(size, 12);
  b.writeUInt32LE(offset, 16);
  return b;
}

const MAX = 0xffffffff;

/** The zip of `entries` (in document order, not overlapping), cut from the document's bytes. */
export async function* zipFromRanges(document: AsyncIterable<Buffer>, entries: readonly ZipEntry[], at: Date): AsyncGenerator<Buffer> {
  const t = dosTime(at);
  const central: Buffer[] = [];
  let written = 0;
  let position = 0; // offset in the document of the next byte
  let index = 0;
  let crc = 0;
  let open = false;
  let entryOffset = 0;
  const emit = (b: Buffer) => {
    written += b.length;
    if (written > MAX) throw Object.assign(new Error('the export is too large for a zip without zip64'), { code: 'HF_DATA_RIGHTS_EXPORT_TOO_LARGE' });
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
        yield emit(localHeader(name, t));
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
        yield emit(descriptor(crc, size));
        central.push(centralHeader(name, t, crc, size, entryOffset));
        open = false;
        index++;
      }
    }
    position += chunk.length;
  }
  if (index < entries.length) throw Object.assign(new Error('the stored export ended before its last part'), { code: 'HF_DATA_RIGHTS_EXPORT_DAMAGED' });
  const directory = Buffer.concat(central);
  const directoryOffset = written;
  yield emit(directory);
  yield emit(endOfDirectory(central.length, directory.length, directoryOffset));
}
