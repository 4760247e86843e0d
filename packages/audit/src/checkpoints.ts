/**
 * Checkpoints: each writer's signed position per UTC day (its segment), committed in the same
 * statement as the events they cover (store.ts). A checkpoint names how many events the segment
 * holds, its last hash and whether it is closed; its HMAC (the first checkpoint key signs, every
 * key verifies) lets `verify` tell a truncated or rewritten segment from an intact one without
 * trusting the table. Plain functions: a reviewer reads the signing rules here alone.
 */
import { openValue, sealValue, type SigningKey } from '@harakaflow/core';
import { checkpointPayload } from './event.js';
import type { Checkpoint } from './writes.js';

const PURPOSE = 'hf-audit-checkpoint';

export function checkpointMac(keys: readonly SigningKey[], c: Omit<Checkpoint, 'mac'>): string {
  const sealed = sealValue(PURPOSE, checkpointPayload(c.writer, c.day, c.count, c.lastHash, c.closed), keys[0]!);
  return sealed.slice(sealed.lastIndexOf('.') + 1);
}

export function checkpointValid(keys: readonly SigningKey[], c: Checkpoint): boolean {
  const payload = checkpointPayload(c.writer, c.day, c.count, c.lastHash, c.closed);
  return openValue(PURPOSE, `${payload}.${c.mac}`, keys, Infinity) !== null;
}

/** Where a batch leaves one segment: an event's position, or the segment's close. */
export type SegmentMark = { writer: string; day: string } & (
  { close: true; count: number; lastHash: string } | { close?: undefined; seq: number; readonly hash: string }
);

/**
 * The signed checkpoints a batch commits: the batch's last position in each segment it touches,
 * signed once per segment, not per event (and a format-3 event's hash is turned into text only
 * for the segment's last one).
 */
export function batchCheckpoints(keys: readonly SigningKey[], items: Iterable<SegmentMark>): Checkpoint[] {
  const ends = new Map<string, SegmentMark>();
  let lastKey = '';
  let lastItem: SegmentMark | null = null;
  for (const item of items) {
    // Consecutive items of one segment (the common case) cost no key string.
    if (lastItem && item.writer === lastItem.writer && item.day === lastItem.day) {
      ends.set(lastKey, (lastItem = item));
      continue;
    }
    lastKey = `${item.writer}\u0000${item.day}`;
    ends.set(lastKey, (lastItem = item));
  }
  return [...ends.values()].map((item) => {
    const c = item.close
      ? { writer: item.writer, day: item.day, count: item.count, lastHash: item.lastHash, closed: true }
      : { writer: item.writer, day: item.day, count: item.seq + 1, lastHash: item.hash, closed: false };
    return { ...c, mac: checkpointMac(keys, c) };
  });
}
