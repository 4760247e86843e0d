/**
 * The audit log's Merkle tree (issue 33 items 1 to 3): one RFC 6962 tree over every writer's
 * events, whose heads are signed as C2SP checkpoints, so anyone holding the public key can check
 * an event's inclusion, and a witness holding an old head can check that history only grew.
 *
 * - **Leaves.** An event's leaf is SHA-256(0x00 || its 32-byte chain hash). The chain hash covers
 *   the salted personal digest, not the personal fields, so erasure (which keeps the digest) leaves
 *   every leaf, and every proof, as it was.
 * - **Order.** Writers chain their own segments (writer, UTC day) in their batches; the
 *   integrator (`integrate`, every `treeIntervalMs` on each replica, one replica at a time through
 *   a row lock) appends the events the checkpoints show committed, segment by segment in seq
 *   order, stopping at a hole (a batch not yet committed, a spill not yet replayed). Which events
 *   are which leaves is `audit.tree_ranges` (a run of one segment's events from a tree index).
 *   Integrating off the writers' batches keeps them free of a shared lock: one global order built
 *   in every batch's transaction would serialize every writer's commit on one row.
 * - **Storage.** The frontier (one hash per bit of the size) and the root in `audit.tree_state`;
 *   every complete subtree of 256 leaves or more in `audit.tree_nodes` (about one row per 128
 *   events). A proof reads at most one block of 256 leaves (from the events) and stored nodes.
 * - **Retention.** Before a day partition is dropped, the leaf hashes of that day that share a
 *   256-leaf block with leaves of other days are kept in `audit.tree_leaves` (`keepTreeLeaves`):
 *   proofs of the kept events, and a check of the whole tree, never need a dropped row.
 * - **Heads.** Each run that appends signs the new head (when keys are set) with the retention
 *   horizon as an extension line (`horizon YYYY-MM-DD`, only once its HMAC holds): the days
 *   before it may be missing from the events; every other leaf must be there.
 */
export { headBody, NO_RANGES, parseRangesLine, rangeLink } from './tree-head.js';
export type { HeadSigner } from './tree-head.js';
export { BLOCK, bytes, readTreeHead } from './tree-store.js';
export type { TreeHead } from './tree-store.js';
export { integrate } from './tree-integrate.js';
export type { IntegrateOptions, IntegrateResult } from './tree-integrate.js';
export { TreeReader, TreeUnavailable } from './tree-reader.js';
export { keepTreeLeaves } from './tree-retention.js';
export { leafIndex, proveEvent } from './tree-proof.js';
export type { EventProof, ProofResult } from './tree-proof.js';
