/**
 * Spill files: where audit events wait on disk while Postgres is unreachable (issue 12 item 1).
 *
 * - They live in a subdirectory `hf-audit-<uid>` of the configured directory, which the writer
 *   creates with mode 0700 and checks before use: it must be a real directory (not a link), owned
 *   by this process's user, and neither group- nor world-writable. So the configured directory may
 *   be a shared 0777 volume (a Kubernetes emptyDir), but no other user can plant or read a file.
 * - A file is NDJSON: one item (event or segment end) per line, then a trailer line
 *   `{ hfAuditSpill: 2, writer, count, after, mac }`. `after` names the event the file's first item
 *   follows in its chain (null for a chain's first event); `mac` is HMAC-SHA256 with the checkpoint
 *   key over the trailer's other fields and every byte before it. Replay (writer.ts) trusts nothing
 *   else: it checks the MAC, recomputes every hash and link, and checks that `after` is stored or
 *   was the last event of the file replayed just before.
 */
import { canonicalJson } from './event.js';
import type { SigningKey } from '@harakaflow/core';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEvent } from './event.js';
import { SpillDirectoryError } from './errors.js';

export const SPILL_SUFFIX = '.ndjson';
const FORMAT = 2;
const PURPOSE = 'hf-audit-spill\n';

/** Where an event's chain stands before a file's first item. */
export interface ChainPosition {
  id: string;
  hash: string;
  day: string;
  seq: number;
}

/** A segment's end, queued behind its last event so it is written after it. */
export interface SegmentClose {
  close: true;
  writer: string;
  day: string;
  count: number;
  lastHash: string;
}

export type Item = AuditEvent | SegmentClose;

export interface SpillFile {
  writer: string;
  after: ChainPosition | null;
  items: Item[];
}

/** The writer's own subdirectory of a configured spill directory. */
export function spillSubdirectory(dir: string): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(dir, `hf-audit-${uid}`);
}

/**
 * Creates (0700) or checks the writer's subdirectory and returns its path, with how many files of
 * the earlier, unauthenticated format wait in the configured directory itself (never replayed).
 * Throws HF_AUDIT_SPILL_DIRECTORY naming the directory when it is not safe to use.
 */
export async function prepareSpillDirectory(dir: string): Promise<{ path: string; legacyFiles: number }> {
  const path = spillSubdirectory(dir);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await mkdir(path, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST')
      throw new SpillDirectoryError(path, `cannot be created (${(error as { code?: string }).code ?? 'error'})`);
  }
  const stats = await lstat(path);
  if (!stats.isDirectory()) throw new SpillDirectoryError(path, 'is not a directory (a link or a file stands there)');
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid())
    throw new SpillDirectoryError(path, `is owned by another user (uid ${stats.uid})`);
  if (stats.mode & 0o022)
    throw new SpillDirectoryError(path, `is group- or world-writable (mode ${(stats.mode & 0o777).toString(8)})`);
  if (stats.mode & 0o077) await chmod(path, 0o700);
  let legacyFiles = 0;
  try {
    legacyFiles = (await readdir(dir)).filter((f) => f.endsWith(SPILL_SUFFIX)).length;
  } catch {
    // the parent is not readable: nothing of the old format can be counted
  }
  return { path, legacyFiles };
}

function mac(key: SigningKey, header: object, body: string): Buffer {
  return createHmac('sha256', key).update(PURPOSE).update(canonicalJson(header)).update('\n').update(body).digest();
}

/** The text of a spill file, authenticated with the first checkpoint key. */
export function encodeSpill(file: SpillFile, keys: readonly SigningKey[]): string {
  // U+2028/2029 are valid in JSON but are line breaks to some readers: escape them too.
  const body =
    file.items
      .map((item) =>
        JSON.stringify(item)
          .replace(/\u2028/g, '\\u2028')
          .replace(/\u2029/g, '\\u2029'),
      )
      .join('\n') + '\n';
  const header = { hfAuditSpill: FORMAT, writer: file.writer, count: file.items.length, after: file.after };
  return `${body}${JSON.stringify({ ...header, mac: mac(keys[0]!, header, body).toString('base64url') })}\n`;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown) => v === null || typeof v === 'string';
const isNullableNumber = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function position(v: unknown): ChainPosition | null | undefined {
  if (v === null) return null;
  const p = v as ChainPosition;
  return p && isString(p.id) && isString(p.hash) && isString(p.day) && Number.isInteger(p.seq)
    ? { id: p.id, hash: p.hash, day: p.day, seq: p.seq }
    : undefined;
}

/** An item read back from JSON, with every field of the type the chain expects, or null. */
function revive(value: unknown): Item | null {
  const v = value as Record<string, unknown>;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  if (v.close === true) {
    return isString(v.writer) && isString(v.day) && DAY.test(v.day) && Number.isInteger(v.count) && isString(v.lastHash)
      ? { close: true, writer: v.writer, day: v.day, count: v.count as number, lastHash: v.lastHash }
      : null;
  }
  const occurredAt = isString(v.occurredAt) ? new Date(v.occurredAt) : null;
  if (!occurredAt || Number.isNaN(occurredAt.getTime())) return null;
  const strings = ['id', 'writer', 'day', 'kind', 'action', 'personalDigest', 'prevHash', 'hash'] as const;
  const nullableStrings = [
    'resource',
    'outcome',
    'requestId',
    'method',
    'route',
    'path',
    'subjectId',
    'ip',
    'userAgent',
    'browserName',
    'browserVersion',
    'osName',
    'osVersion',
    'deviceType',
    'personalSalt',
  ] as const;
  if (!strings.every((k) => isString(v[k])) || !nullableStrings.every((k) => isNullableString(v[k]))) return null;
  if (
    !DAY.test(v.day as string) ||
    !Number.isInteger(v.seq) ||
    (v.seq as number) < 0 ||
    typeof v.ipInvalid !== 'boolean'
  )
    return null;
  if (!isNullableNumber(v.status) || !isNullableNumber(v.durationMs)) return null;
  const chainVersion = v.chainVersion ?? 1;
  if (chainVersion !== 1 && chainVersion !== 2 && chainVersion !== 3) return null;
  return {
    ...(v as unknown as AuditEvent),
    details: v.details ?? null,
    occurredAt,
    erasedAt: null,
    erasedBy: null,
    chainVersion,
  };
}

/** Reads a spill file: the items and their claimed position, or why it cannot be trusted. */
export function decodeSpill(text: string, keys: readonly SigningKey[]): SpillFile | { error: string } {
  if (!text.endsWith('\n')) return { error: 'the file is truncated' };
  const cut = text.lastIndexOf('\n', text.length - 2);
  const body = text.slice(0, cut + 1);
  let trailer: { hfAuditSpill?: unknown; writer?: unknown; count?: unknown; after?: unknown; mac?: unknown };
  try {
    trailer = JSON.parse(text.slice(cut + 1));
  } catch {
    return { error: 'the trailer is not JSON (truncated, or not a spill file of this version)' };
  }
  if (
    !trailer ||
    trailer.hfAuditSpill !== FORMAT ||
    !isString(trailer.writer) ||
    !Number.isInteger(trailer.count) ||
    !isString(trailer.mac)
  )
    return { error: 'no valid trailer' };
  const after = position(trailer.after);
  if (after === undefined) return { error: 'the trailer names no valid chain position' };
  const header = { hfAuditSpill: FORMAT, writer: trailer.writer, count: trailer.count, after };
  const given = Buffer.from(trailer.mac, 'base64url');
  if (given.length !== 32 || !keys.some((key) => timingSafeEqual(mac(key, header, body), given)))
    return { error: 'the MAC does not verify under any checkpoint key' };
  const lines = body.split('\n').slice(0, -1);
  if (lines.length !== trailer.count) return { error: 'the item count does not match' };
  const items: Item[] = [];
  for (const line of lines) {
    let item: Item | null = null;
    try {
      item = revive(JSON.parse(line));
    } catch {
      item = null;
    }
    if (!item) return { error: 'an item is malformed' };
    items.push(item);
  }
  return { writer: trailer.writer, after, items };
}
