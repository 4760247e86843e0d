/** The connection `ping` asks on, outside postgres.js' pool: an outage's end seen at the first probe. */
import { withTimeout } from '@harakaflow/core';
import type { ProbeResult } from './availability.js';
import { isConnectionLoss } from './pg-errors.js';

/** How long the probe waits for a connection: an answer in seconds, not the pool's 5 s. */
export const PROBE_CONNECT_SECONDS = 2;
const TIMED_OUT = 'HF_DB_PING_TIMEOUT';
const SLOW = new Set([TIMED_OUT, 'CONNECT_TIMEOUT', 'ETIMEDOUT']);

export interface Sql {
  unsafe(query: string): PromiseLike<unknown>;
  end(options?: { timeout?: number }): Promise<void>;
}

/**
 * `ping` on a connection of its own, outside the pool: it answers at the first probe after the
 * server accepts connections again, without waiting for the pool's backoff, and a pool busy with
 * a backlog does not make it time out. One connection, opened at the first ping and kept; one
 * that times out is dropped (it may hang on a dead peer) and the next ping opens another.
 */
export function probeConnection(open: () => Sql): {
  ping(timeoutMs: number): Promise<ProbeResult>;
  end(): Promise<void>;
} {
  let client: Sql | undefined;
  const drop = (c: Sql) => {
    if (client === c) client = undefined;
    void c.end({ timeout: 0 }).catch(() => {});
  };
  return {
    async ping(timeoutMs) {
      const c = (client ??= open());
      try {
        await withTimeout(Promise.resolve(c.unsafe('select 1')), timeoutMs, () =>
          Object.assign(new Error('ping timed out'), { code: TIMED_OUT }),
        );
        return 'up';
      } catch (error) {
        drop(c);
        // Down: refused, reset or closed; a timeout (ours or the driver's connect_timeout) may be an
        // overloaded server, and another failure (a password, a missing database) is not an outage.
        return isConnectionLoss(error) && !SLOW.has(String((error as { code?: unknown }).code)) ? 'down' : 'slow';
      }
    },
    async end() {
      if (client) await client.end({ timeout: 1 }).catch(() => {});
      client = undefined;
    },
  };
}
