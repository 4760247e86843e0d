/**
 * What a signed tree head says: its C2SP checkpoint body, and the chain over the tree's index of events it commits to.
 */
import { createHash } from 'node:crypto';

/** What signs tree heads: `@harakaflow/audit`'s AuditSigningKeys (note.ts), or anything shaped like it. */
export interface HeadSigner {
  readonly origin: string;
  signNote(text: string): string;
}

/** The body of a C2SP checkpoint (origin, size, base64 root, extension lines). */
export function headBody(
  origin: string,
  size: number,
  root: Uint8Array,
  horizon: string | null,
  ranges: { count: number; hash: Uint8Array },
): string {
  return `${origin}\n${size}\n${Buffer.from(root).toString('base64')}\n${horizon ? `horizon ${horizon}\n` : ''}ranges ${ranges.count} ${Buffer.from(ranges.hash).toString('base64')}\n`;
}

/** The empty chain of ranges. */
export const NO_RANGES: Buffer = createHash('sha256').digest();

/**
 * The chain over the tree's index of events (`audit.tree_ranges`, in tree order), which every signed
 * head commits to (`ranges <count> <base64>`): SHA-256(previous || JSON[start, writer, day,
 * first seq, count] "\n"). Without it a range's day, which says whether its events may be missing
 * (a day before the horizon), would be the database's word (review of issue 33).
 */
export function rangeLink(
  previous: Uint8Array,
  r: { start: number; writer: string; day: string; firstSeq: number; count: number },
): Buffer {
  return createHash('sha256')
    .update(previous)
    .update(`${JSON.stringify([r.start, r.writer, r.day, r.firstSeq, r.count])}\n`)
    .digest();
}

/** The `ranges` extension line of a signed head. */
export function parseRangesLine(extensions: readonly string[]): { count: number; hash: Buffer } | null {
  const line = extensions.find((l) => l.startsWith('ranges '));
  const m = line ? /^ranges (0|[1-9]\d{0,15}) ([A-Za-z0-9+/]{43}=)$/.exec(line) : null;
  return m ? { count: Number(m[1]), hash: Buffer.from(m[2]!, 'base64') } : null;
}
