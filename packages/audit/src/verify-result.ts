/** What a chain check reports, and what it is given: problems and their reasons, the result, the options. */
import type { SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { HeadOpener, TreeCheck, TreeProblemReason } from './tree-verify.js';

export type ProblemReason =
  | 'modified'
  | 'missing'
  | 'reordered'
  | 'checkpoint-missing'
  | 'checkpoint-mismatch'
  | 'segment-missing'
  | 'erasure-unrecorded'
  | 'horizon-mismatch'
  | 'held-missing'
  | 'held-mismatch'
  | 'held-unsigned'
  | 'held-release-unrecorded'
  | TreeProblemReason;

export interface ChainProblem {
  writer: string;
  day: string;
  reason: ProblemReason;
  /** The event concerned, when there is one (for `missing`, the seq that should be there). */
  seq: number | null;
  id: string | null;
  detail: string;
}

export interface VerifyResult {
  ok: boolean;
  segments: number;
  events: number;
  problems: ChainProblem[];
  /**
   * Gaps the writers declared (`audit.gap`): access events dropped while the spill directory was full. Not tampering.
   */
  gaps: { writer: string; day: string; id: string; count: number; from: string; to: string }[];
  /** Checkpoints in the range, and how many verify under the keys given (none: probably the wrong keys). */
  checkpoints: { total: number; valid: number };
  /**
   * Erasure records in the range, and those whose events still hold their personal fields (an erasure interrupted
   * before its update: run it again).
   */
  erasures: { recorded: number; incomplete: string[] };
  /**
   * Where the chains were anchored: `genesis` (nothing purged, or a range was given), or the
   * retention horizon, with each writer's checkpoint before it that its chain resumes from.
   */
  anchor: {
    kind: 'genesis' | 'range' | 'horizon';
    horizon: string | null;
    writers: { writer: string; day: string; count: number }[];
  };
  /**
   * Copies of held subjects' events kept past their day (each checked against its own hash), the
   * dropped days' records they are checked against, and the copies released since (their ids and hashes).
   */
  held: { events: number; days: number; released: number };
  /**
   * The Merkle tree checked against its latest signed head (issue 33), when verifier keys were
   * given: the head's size, key and horizon, the leaves recomputed from events and those taken
   * from kept hashes, and the witness's size and whether the tree extends it. Null otherwise.
   */
  tree: TreeCheck | null;
}

export interface VerifyOptions {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  /** First UTC day (YYYY-MM-DD), inclusive. */
  from?: string | undefined;
  /** Last UTC day, inclusive. */
  to?: string | undefined;
  pageSize?: number | undefined;
  /**
   * Opens a signed tree head under the public keys given (note.ts `headOpener`): the Merkle tree is
   * then checked against its latest signed head. With no `checkpointKeys` (an empty list), verify
   * runs on public keys alone: the checks that need the HMAC key (segment checkpoints, the horizon's
   * and the held days' signatures) are left to the tree, and the horizon is the signed head's.
   */
  openHead?: HeadOpener | undefined;
  /** A signed head a witness kept (C2SP note, as served): the tree must extend it (needs `openHead`). */
  witness?: string | undefined;
}
