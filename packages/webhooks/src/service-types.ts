/** WebhookService's types: an endpoint as its account sees it, a disabled one's notice, the service's options. */
import type { Database } from '@harakaflow/db';
import type { DestinationPolicy } from './destination.js';
import type { endpoints } from './schema.js';
import type { SecretStore } from './secret-store.js';
import type { SendResult } from './send.js';

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  status: string;
  disabledReason: string | null;
  /** Since when every attempt has failed; null when the last one succeeded. */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An endpoint just disabled, for the account's notice (issue 34 item 3). */
export interface DisabledEndpoint {
  id: string;
  accountId: string;
  url: string;
  /** `gone`: it answered 410; `failing`: every attempt failed for `disableAfterDays`. */
  reason: 'gone' | 'failing';
  disabledAt: Date;
  failingSince: Date | null;
  /** How many of its deliveries were held (kept for when it is enabled again). */
  held: number;
}

export interface ServiceOptions {
  db: Database;
  secrets: SecretStore;
  policy?: DestinationPolicy | undefined;
  /** Event types endpoints may subscribe to ('*' subscribes to all). */
  eventTypes: readonly string[];
  /** How long the previous secret still signs after a rotation, ms. Default 24 h. */
  rotationOverlapMs?: number | undefined;
  sendTimeoutMs?: number | undefined;
  schedule?: readonly number[] | undefined;
  /** Days of failing every attempt after which an endpoint is disabled. Default 5. */
  disableAfterDays?: number | undefined;
  now?: () => Date;
  /** Called after every attempt (audit, metrics). */
  onAttempt?:
    | ((info: {
        deliveryId: string;
        endpointId: string;
        accountId: string;
        result: SendResult;
        outcome: 'delivered' | 'retry' | 'failed' | 'gone';
      }) => void)
    | undefined;
  /** Called once (across replicas) when an endpoint is disabled: by a 410, or after `disableAfterDays` of failures. */
  onDisabled?: ((endpoint: DisabledEndpoint) => void | Promise<void>) | undefined;
  /** Called when deliveries were queued again (resend, recover, enable): a dispatcher may start at once. */
  onQueued?: (() => void) | undefined;
}

/** An endpoint row as its account sees it (no account id, no secret). */
export function endpointView(row: typeof endpoints.$inferSelect): Endpoint {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    status: row.status,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
