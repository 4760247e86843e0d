/**
 * Export bundles at rest (issue 14 item 3): the document is cut into 32 KiB chunks as it is made,
 * each sealed with AES-256-GCM under a fresh data key (AAD: export id and chunk number, so chunks
 * cannot be reordered or moved between exports). The data key and the one-time token are kept in
 * the caller's key store (the credential vault's envelope in the app, its own namespace); the
 * table holds only the token's SHA-256. Deleting the key store's record shreds the bundle.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, eq, gt, gte, isNull, lt, or, sql } from 'drizzle-orm';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Mark } from './bundle.js';
import type { ExportKeyStore } from './types.js';
import { exportChunks, exportsTable } from './schema.js';
import type { ZipEntry } from './zip.js';

/**
 * Plaintext bytes per chunk. Small on purpose: the driver sends and receives bytea as hex text, and
 * a chunk whose hex form stays under V8's large-object size (128 KiB) lives and dies in the young
 * generation, where 1 MiB chunks left 2 MiB strings in the old one until a full collection (about
 * 100 MB of RSS over a 50 MB export). Readers take chunks of any size: the size is the writer's choice.
 */
export const CHUNK_BYTES = 32 * 1024;
/** Chunks per INSERT and per SELECT: 128 KiB a round trip, its hex or base64 text young too. */
const CHUNKS_PER_STATEMENT = 4;

const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');
const aad = (exportId: string, seq: number) => Buffer.from(`hf-export:${exportId}:${seq}`);

function seal(key: Buffer, exportId: string, seq: number, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad(exportId, seq));
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, exportId: string, seq: number, sealed: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12)).setAAD(aad(exportId, seq));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = decipher.update(sealed.subarray(12, sealed.length - 16));
  decipher.final(); // checks the tag; GCM has no bytes left to give (no concatenation, no copy)
  return plain;
}

/** The key store's record: 32-byte data key, then the token. */
const keyRecord = (dataKey: Buffer, token: string) => Buffer.concat([dataKey, Buffer.from(token)]);

export interface StoredExport {
  id: string;
  token: string;
  expiresAt: Date;
  size: number;
}

/**
 * Writes a bundle from its text pieces, chunk by chunk (up to 1 MiB each); the export becomes visible (its row) only
 * when every chunk is stored, so a crash leaves orphan chunks that `sweepExports` removes, never a
 * truncated download.
 */
export async function storeExport(
  db: Database,
  keys: ExportKeyStore,
  input: { id: string; requestId: string; expiresAt: Date; now: Date },
  pieces: AsyncIterable<string | Mark>,
): Promise<StoredExport> {
  const dataKey = randomBytes(32);
  const token = randomBytes(32).toString('base64url');
  await keys.put(input.id, keyRecord(dataKey, token));
  // Pieces are written into one reused chunk buffer (no Buffer per record, no concatenation); a
  // full chunk is sealed and queued, and the queue is inserted CHUNKS_PER_STATEMENT at a time.
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  let seq = 0;
  let size = 0;
  let queued: { exportId: string; seq: number; sealed: Buffer }[] = [];
  const insertQueued = async () => {
    if (!queued.length) return;
    await db.insert(exportChunks).values(queued);
    queued = [];
  };
  const flush = async () => {
    queued.push({ exportId: input.id, seq, sealed: seal(dataKey, input.id, seq, buffer.subarray(0, used)) });
    seq++;
    used = 0;
    if (queued.length >= CHUNKS_PER_STATEMENT) await insertQueued();
  };
  // Chunks reference the export row; it is inserted first with an expiry in the past, so an
  // unfinished export is never served, then given its real expiry once complete.
  await db.insert(exportsTable).values({
    id: input.id,
    requestId: input.requestId,
    tokenHash: tokenHash(token),
    size: 0,
    chunks: 0,
    createdAt: input.now,
    expiresAt: new Date(0),
  });
  const layout: ZipEntry[] = [];
  for await (const piece of pieces) {
    if (typeof piece !== 'string') {
      if (piece.mark === 'start') layout.push({ name: piece.file ?? `${piece.name}.json`, start: size, end: size });
      else layout.at(-1)!.end = size;
      continue;
    }
    // Most pieces (one record) fit what is left of the chunk and are written in place; a longer one
    // is encoded once and copied across as many chunks as it spans.
    if (piece.length * 3 <= CHUNK_BYTES - used) {
      const written = buffer.write(piece, used);
      used += written;
      size += written;
      continue;
    }
    const bytes = Buffer.from(piece);
    size += bytes.length;
    for (let at = 0; at < bytes.length;) {
      if (used === CHUNK_BYTES) await flush();
      const n = bytes.copy(buffer, used, at, Math.min(bytes.length, at + CHUNK_BYTES - used));
      used += n;
      at += n;
    }
    if (used === CHUNK_BYTES) await flush();
  }
  if (used || seq === 0) await flush();
  await insertQueued();
  await db
    .update(exportsTable)
    .set({ size, chunks: seq, layout, expiresAt: input.expiresAt })
    .where(eq(exportsTable.id, input.id));
  return { id: input.id, token, expiresAt: input.expiresAt, size };
}

/** The token of a stored export, for the request's status (read from the key store, never the table). */
export async function exportToken(keys: ExportKeyStore, exportId: string): Promise<string | null> {
  const record = await keys.get(exportId);
  return record && record.length > 32 ? record.subarray(32).toString() : null;
}

/**
 * The live export a token opens, read and not claimed (the download page); null: unknown, used, expired or unfinished.
 */
export async function findExport(
  db: Database,
  token: string,
  now: Date,
): Promise<{ requestId: string; expiresAt: Date; size: number } | null> {
  if (typeof token !== 'string' || token.length > 100) return null;
  const [row] = await db
    .select({ requestId: exportsTable.requestId, expiresAt: exportsTable.expiresAt, size: exportsTable.size })
    .from(exportsTable)
    .where(
      and(
        eq(exportsTable.tokenHash, tokenHash(token)),
        isNull(exportsTable.downloadedAt),
        gt(exportsTable.expiresAt, now),
      ),
    );
  return row ?? null;
}

/**
 * Claims the export a token opens, once: the row is marked downloaded in the same statement that
 * finds it, so two concurrent downloads cannot both succeed. Null: unknown, used or expired.
 */
export async function claimExport(
  db: Database,
  token: string,
  now: Date,
): Promise<{ id: string; requestId: string; chunks: number; size: number; layout: ZipEntry[] | null } | null> {
  if (typeof token !== 'string' || token.length > 100) return null;
  const [row] = await db
    .update(exportsTable)
    .set({ downloadedAt: now })
    .where(
      and(
        eq(exportsTable.tokenHash, tokenHash(token)),
        isNull(exportsTable.downloadedAt),
        gt(exportsTable.expiresAt, now),
      ),
    )
    .returning({
      id: exportsTable.id,
      requestId: exportsTable.requestId,
      chunks: exportsTable.chunks,
      size: exportsTable.size,
      layout: exportsTable.layout,
    });
  return row ?? null;
}

/** The claimed export's plaintext, chunk by chunk; then the bundle and its key are deleted. */
export async function* readExport(
  db: Database,
  keys: ExportKeyStore,
  claimed: { id: string; chunks: number },
): AsyncGenerator<Buffer> {
  const record = await keys.get(claimed.id);
  try {
    if (!record) return;
    const dataKey = record.subarray(0, 32);
    for (let first = 0; first < claimed.chunks; first += CHUNKS_PER_STATEMENT) {
      const last = Math.min(claimed.chunks, first + CHUNKS_PER_STATEMENT);
      const rows = await db
        // As base64 text: a third less to receive and decode than the driver's hex form of bytea.
        .select({ seq: exportChunks.seq, sealed: sql<string>`encode(${exportChunks.sealed}, 'base64')` })
        .from(exportChunks)
        .where(and(eq(exportChunks.exportId, claimed.id), gte(exportChunks.seq, first), lt(exportChunks.seq, last)))
        .orderBy(asc(exportChunks.seq));
      for (let seq = first; seq < last; seq++) {
        const row = rows[seq - first];
        if (row?.seq !== seq)
          throw Object.assign(new Error('an export chunk is missing'), { code: 'HF_DATA_RIGHTS_EXPORT_DAMAGED' });
        yield open(dataKey, claimed.id, seq, Buffer.from(row.sealed, 'base64'));
      }
    }
  } finally {
    await deleteExport(db, keys, claimed.id);
  }
}

export async function deleteExport(db: Database, keys: ExportKeyStore, id: string): Promise<void> {
  await keys.delete(id);
  await db.delete(exportsTable).where(eq(exportsTable.id, id));
}

/**
 * Removes, with their keys: expired exports, downloads that never finished deleting (an hour
 * after they began, so a download in progress is never cut), and exports whose writing was
 * interrupted (an hour after they began). One condition, checked in the statement that finds them.
 */
export async function sweepExports(db: Database, keys: ExportKeyStore, now: Date): Promise<number> {
  const hourAgo = new Date(now.getTime() - 3_600_000);
  const unfinished = new Date(0);
  const stale = await db
    .select({ id: exportsTable.id })
    .from(exportsTable)
    .where(
      or(
        and(lt(exportsTable.expiresAt, now), gt(exportsTable.expiresAt, unfinished)),
        lt(exportsTable.downloadedAt, hourAgo),
        and(eq(exportsTable.expiresAt, unfinished), lt(exportsTable.createdAt, hourAgo)),
      ),
    )
    .orderBy(asc(exportsTable.createdAt))
    .limit(500);
  for (const { id } of stale) await deleteExport(db, keys, id);
  return stale.length;
}
