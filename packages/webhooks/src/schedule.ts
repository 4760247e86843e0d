import { retryDelay as sharedRetryDelay } from '@harakaflow/db/internals';

/**
 * When a failed delivery is tried again: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each
 * failure (the Standard Webhooks schedule), each with up to 10% jitter so retries of many
 * deliveries do not arrive together. After the last, the delivery has failed for good.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/**
 * The delay before the next attempt after `attempts` failed attempts, or null when none is left (@harakaflow/db's,
 * shared by every outbox).
 */
export function retryDelay(
  attempts: number,
  schedule: readonly number[] = RETRY_SCHEDULE_MS,
  random: () => number = Math.random,
): number | null {
  return sharedRetryDelay(attempts, schedule, random);
}
