/**
 * A request's export: built and stored, its one-time link (sent again by the admin), its one download, and exports a
 * crash interrupted resumed.
 */
import { uuidv7 } from '@harakaflow/core';
import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import { bundlePieces } from './bundle.js';
import { ExportGone, InvalidRequest, RequestNotFound } from './errors.js';
import { appendHistory, hasExport, type Ledger, type Row } from './ledger.js';
import { requests } from './schema.js';
import { claimExport, exportToken, readExport, storeExport } from './storage.js';
import type { RightsRequest } from './types.js';
import { zipFromRanges } from './zip.js';

/** Builds, encrypts and stores the export, then fulfils the request with its one-time link. */
export async function exportRequest(l: Ledger, row: Row): Promise<Row> {
  const ref = l.ref(row)!;
  const at = l.now();
  const id = uuidv7(at.getTime());
  const expiresAt = new Date(at.getTime() + l.c.exportTtlHours * 3_600_000);
  const handlers = l.c.handlers(ref.kind);
  await storeExport(
    l.c.db,
    l.c.keyStore,
    { id, requestId: row.id, expiresAt, now: at },
    bundlePieces(row.id, ref, handlers, l.c.signingKeys, () => l.now(), l.c.article15),
  );
  return l.move(
    row,
    'fulfilled',
    'system',
    {},
    { event: 'export-ready', note: `link valid until ${expiresAt.toISOString()}` },
  );
}

/**
 * The live export link of a request (null when it has none, or it was used or expired): for the
 * message that sends it to the person, read when the message is sent, never shown to the admin.
 */
export async function exportLink(l: Ledger, id: string): Promise<{ url: string; expiresAt: string } | null> {
  const row = await l.row(id);
  if (!row || !hasExport(row)) return null;
  const file = (await l.exportsOf([row.id])).get(row.id);
  if (!file || file.downloadedAt || file.expiresAt <= l.now()) return null;
  const token = await exportToken(l.c.keyStore, file.id);
  return token ? { url: `/v1/privacy/exports/${token}`, expiresAt: file.expiresAt.toISOString() } : null;
}

/**
 * The administrator sends a live export link to the person again (the admin never sees it): the
 * request's history (`export-resent`), the audit log (`data_rights.export.resent`) and the update
 * notification, whose message reads the link when it is sent. A used or expired link: 410.
 */
export async function resendExport(l: Ledger, id: string): Promise<RightsRequest> {
  const row = await l.row(id);
  if (!row) throw new RequestNotFound();
  if (!hasExport(row))
    throw new InvalidRequest('only a fulfilled access or portability request has an export link to send');
  const file = (await l.exportsOf([row.id])).get(row.id);
  if (!file || file.downloadedAt || file.expiresAt <= l.now()) throw new ExportGone();
  const at = l.now();
  const [resent] = await l.c.db
    .update(requests)
    .set({
      history: appendHistory({
        status: row.status,
        at: at.toISOString(),
        by: 'admin',
        event: 'export-resent',
        note: `link valid until ${file.expiresAt.toISOString()}`,
      }),
      updatedAt: at,
    })
    .where(eq(requests.id, row.id))
    .returning();
  await l.event('data_rights.export.resent', resent!, { expiresAt: file.expiresAt.toISOString() });
  await l.notify(resent!);
  return l.view(resent!);
}

/**
 * The one download an export token allows: the JSON document's bytes (`size` known), or a zip
 * with an entry per part and `manifest.json` (size unknown: streamed); then it is deleted.
 */
export async function downloadExport(
  l: Ledger,
  token: string,
  format: 'json' | 'zip' = 'json',
): Promise<{ requestId: string; format: 'json' | 'zip'; size: number | null; body: AsyncGenerator<Buffer> } | null> {
  const claimed = await claimExport(l.c.db, token, l.now());
  if (!claimed) return null;
  const [row] = await l.c.db.select().from(requests).where(eq(requests.id, claimed.requestId));
  if (row) await l.event('data_rights.export.downloaded', row, { size: claimed.size, format });
  const body = readExport(l.c.db, l.c.keyStore, claimed);
  // An export stored before zips existed has no layout: it is served as JSON whatever was asked.
  if (format === 'zip' && claimed.layout)
    return {
      requestId: claimed.requestId,
      format,
      size: null,
      body: zipFromRanges(body, claimed.layout, l.now()),
    };
  return { requestId: claimed.requestId, format: 'json', size: claimed.size, body };
}

/** Restarts what a crash interrupted: access requests in progress with no export yet. */
export async function resumeExports(l: Ledger): Promise<number> {
  const stuck = await l.c.db
    .select()
    .from(requests)
    .where(
      and(
        inArray(requests.kind, ['access', 'portability']),
        eq(requests.status, 'in_progress'),
        lt(requests.updatedAt, new Date(l.c.now() - l.c.leaseMs)),
      ),
    )
    .orderBy(asc(requests.id))
    .limit(20);
  for (const row of stuck) await exportRequest(l, row);
  return stuck.length;
}
