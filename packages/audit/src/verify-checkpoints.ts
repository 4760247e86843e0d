/**
 * The chain check's checkpoints: where each writer's chain starts (genesis, or past the horizon), and where each
 * segment must end.
 */
import type { SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { AuditEvent } from './event.js';
import { addDays, readHorizon } from './partitions.js';
import { listCheckpoints, type Checkpoint } from './store.js';
import { readTreeHead } from './tree-store.js';
import type { HeadOpener } from './tree-verify.js';
import type { ProblemReason, VerifyOptions, VerifyResult } from './verify-result.js';
import { checkpointValid } from './writer.js';

export interface Segment {
  writer: string;
  day: string;
  count: number;
  last: AuditEvent | null;
  failed: boolean;
  /** Hash -> seq of this segment's events, for naming a reorder. */
  seen: Map<string, number>;
}

export const segmentKey = (writer: string, day: string) => `${writer}\u0000${day}`;

/** Reports a segment's first problem (and marks it failed). */
export type SegmentProblem = (
  s: Segment,
  reason: ProblemReason,
  detail: string,
  e?: { seq: number; id: string | null },
) => void;

/** The horizon the latest signed tree head names (public keys alone), trusted as signed. */
async function signedHorizon(db: Database, open: HeadOpener): Promise<{ day: string; valid: boolean } | null> {
  const head = await readTreeHead(db);
  if (!head?.note) return null;
  try {
    const day = open(head.note)
      .extensions.find((l) => l.startsWith('horizon '))
      ?.slice(8);
    return day ? { day, valid: true } : null;
  } catch {
    return null; // checkTree reports the head
  }
}

/**
 * Where the chains start: past a valid horizon, each writer at its last checkpoint before it; else at genesis or
 * `from`.
 */
export interface ChainStart {
  horizon: { day: string; valid: boolean } | null;
  /** The chains start at the horizon (it is valid, and no later `from` was asked for). */
  anchored: boolean;
  /** The first day checked. */
  from: string | undefined;
  /** Per writer: its last valid checkpoint before the horizon (HMAC keys only). */
  anchors: Map<string, Checkpoint>;
}

/** Reads the horizon (a `horizon-mismatch` problem when it is not signed) and each writer's anchor past it. */
export async function chainStart(options: VerifyOptions, hmac: boolean, result: VerifyResult): Promise<ChainStart> {
  const { db, checkpointKeys } = options;
  // Days before a valid horizon were purged on purpose: start there, anchored at each writer's last checkpoint before
  // it.
  const horizon = hmac ? await readHorizon(db, checkpointKeys) : await signedHorizon(db, options.openHead!);
  if (horizon && !horizon.valid) {
    result.problems.push({
      writer: '',
      day: horizon.day,
      reason: 'horizon-mismatch',
      seq: null,
      id: null,
      detail: 'the retention horizon is not signed by any key given: days before it may have been deleted by hand',
    });
  }
  const anchored = Boolean(horizon?.valid && (!options.from || options.from <= horizon.day));
  const from = anchored ? horizon!.day : options.from;
  const anchors = new Map<string, Checkpoint>();
  if (anchored) {
    result.anchor = { kind: 'horizon', horizon: horizon!.day, writers: [] };
    for (const c of hmac ? await listCheckpoints(db, undefined, addDays(horizon!.day, -1)) : []) {
      if (!checkpointValid(checkpointKeys, c)) continue;
      const seen = anchors.get(c.writer);
      if (!seen || seen.day < c.day) anchors.set(c.writer, c);
    }
    result.anchor.writers = [...anchors.values()]
      .map((c) => ({ writer: c.writer, day: c.day, count: c.count }))
      .sort((a, b) => a.writer.localeCompare(b.writer));
  }
  return { horizon, anchored, from, anchors };
}

export function checkSegmentEnd(
  s: Segment,
  c: Checkpoint | undefined,
  keys: readonly SigningKey[],
  problem: SegmentProblem,
): void {
  if (!c) problem(s, 'checkpoint-missing', 'the segment has no checkpoint');
  else if (!checkpointValid(keys, c))
    problem(s, 'checkpoint-mismatch', 'the checkpoint signature is not valid under any key');
  else if (c.count > s.count)
    problem(s, 'missing', `the checkpoint counts ${c.count} events; ${s.count} are here`, { seq: s.count, id: null });
  else if (c.count < s.count)
    problem(s, 'checkpoint-mismatch', `${s.count - c.count} event(s) after the signed end of the segment`, {
      seq: c.count,
      id: null,
    });
  else if (s.last && c.lastHash !== s.last.hash)
    problem(s, 'checkpoint-mismatch', 'the segment was rewritten: its last hash is not the signed one', s.last);
}
