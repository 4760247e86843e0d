import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { zipFromRanges, type ZipEntry } from '../src/zip.js';

/** A document of named parts, as the store keeps it: the bytes and where each part lies. */
function documentOf(parts: [string, string][]): { bytes: Buffer; entries: ZipEntry[] } {
  const pieces: Buffer[] = [Buffer.from('{"parts":{')];
  const entries: ZipEntry[] = [];
  let at = pieces[0]!.length;
  parts.forEach(([name, text], i) => {
    const head = Buffer.from(`${i ? ',' : ''}${JSON.stringify(name)}:`);
    const body = Buffer.from(text);
    pieces.push(head, body);
    entries.push({ name: `${name}.json`, start: at + head.length, end: at + head.length + body.length });
    at += head.length + body.length;
  });
  pieces.push(Buffer.from('}}'));
  return { bytes: Buffer.concat(pieces), entries };
}

async function* inChunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function zipOf(bytes: Buffer, entries: ZipEntry[], chunk: number, forceZip64: boolean): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of zipFromRanges(inChunks(bytes, chunk), entries, new Date('2026-12-01T12:00:00Z'), forceZip64))
    out.push(b);
  return Buffer.concat(out);
}

/** Reads a zip with yauzl, which checks CRC-32 and sizes (and reads zip64 records). */
async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const { default: yauzl } = await import('yauzl');
  return new Promise((resolve, reject) => {
    const found = new Map<string, Buffer>();
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, file) => {
      if (error || !file) return reject(error);
      file.on('entry', (entry: { fileName: string }) =>
        file.openReadStream(entry as never, (e, stream) => {
          if (e || !stream) return reject(e);
          const parts: Buffer[] = [];
          stream.on('error', reject);
          stream
            .on('data', (c: Buffer) => parts.push(c))
            .on('end', () => (found.set(entry.fileName, Buffer.concat(parts)), file.readEntry()));
        }),
      );
      file.on('end', () => resolve(found));
      file.on('error', reject);
      file.readEntry();
    });
  });
}

const ZIP64_END = Buffer.from([0x50, 0x4b, 0x06, 0x06]);

describe('the zip writer', () => {
  it('writes each part as an entry of exactly its bytes, in classic or zip64 form, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/), fc.string({ unit: 'grapheme', maxLength: 300 })),
          { minLength: 1, maxLength: 5, selector: ([name]) => name },
        ),
        fc.integer({ min: 1, max: 97 }),
        fc.boolean(),
        async (parts, chunk, forceZip64) => {
          const { bytes, entries } = documentOf(parts.map(([n, text]) => [n, JSON.stringify(text)]));
          const zip = await zipOf(bytes, entries, chunk, forceZip64);
          expect(zip.includes(ZIP64_END)).toBe(forceZip64);
          const got = await unzip(zip);
          expect([...got.keys()]).toEqual(entries.map((e) => e.name));
          for (const e of entries)
            expect(createHash('sha256').update(got.get(e.name)!).digest('hex')).toBe(
              createHash('sha256').update(bytes.subarray(e.start, e.end)).digest('hex'),
            );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stops with HF_DATA_RIGHTS_EXPORT_DAMAGED when the document ends before its last part', async () => {
    const { bytes, entries } = documentOf([
      ['a', '"x"'],
      ['b', '"yy"'],
    ]);
    await expect(zipOf(bytes.subarray(0, entries[1]!.start + 1), entries, 8, false)).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_EXPORT_DAMAGED',
    });
  });
});
