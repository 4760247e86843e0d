import { checkDatabaseOption, integerOption } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { DestinationPolicy } from './destination.js';
import { invalidOption } from './errors.js';
import { memoryReplayStore, postgresReplayStore, type ReplayStore } from './replay.js';
import { vaultSecretStore, type SecretStore, type VaultLike } from './secret-store.js';
import type { DisabledEndpoint } from './service-types.js';
import { DEFAULT_TOLERANCE_SECONDS } from './standard.js';

export interface WebhooksOptions {
  /** The database (schema `webhooks`): the outbox, endpoints, and the Postgres replay store. Required. */
  db: Database;
  /** Event types customers may subscribe to. Default []. */
  eventTypes?: readonly string[] | undefined;
  /** Where endpoint secrets live. Default: the credential vault (`fastify.vault`) when registered. */
  secrets?: SecretStore | undefined;
  /** Allow http:// destinations. Default false. */
  allowHttp?: boolean | undefined;
  /** Allow loopback/private/link-local destinations (development, tests). Default false. */
  allowPrivateDestinations?: boolean | undefined;
  /**
   * The dispatcher loop: `false` to run none here (another process dispatches). Default { intervalMs: 1000, batch: 20
   * }.
   */
  dispatch?: false | { intervalMs?: number; batch?: number } | undefined;
  /** Seen-delivery store: 'memory', 'postgres' (default) or a ReplayStore (e.g. redisReplayStore). */
  replayStore?: 'memory' | 'postgres' | ReplayStore | undefined;
  /** Standard Webhooks timestamp tolerance, s. Default 300. Also the replay window of Standard deliveries. */
  toleranceSeconds?: number | undefined;
  /** How long a Meta (X-Hub-Signature-256) body digest is remembered, s: those carry no timestamp. Default 86 400. */
  hubReplayWindowSeconds?: number | undefined;
  /** Rotation overlap, ms. Default 24 h. */
  rotationOverlapMs?: number | undefined;
  /** Days of failing every attempt after which an endpoint is disabled (its deliveries held). Default 5. */
  disableAfterDays?: number | undefined;
  /**
   * Called once (across replicas) when an endpoint is disabled, after the `webhook.endpoint.disabled`
   * security event: the app tells the account (an email). Its failure is logged, never the delivery's.
   */
  onEndpointDisabled?: ((endpoint: DisabledEndpoint) => void | Promise<void>) | undefined;
}

/**
 * The options checked (HF_WEBHOOK_INVALID_OPTION naming the option); `vault`: the app's credential vault, if
 * registered.
 */
export function resolveOptions(options: WebhooksOptions, vault: VaultLike | undefined) {
  const db = checkDatabaseOption(options.db, invalidOption);
  const eventTypes = options.eventTypes ?? [];
  if (
    !Array.isArray(eventTypes) ||
    eventTypes.some((t) => typeof t !== 'string' || !/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(t))
  ) {
    throw invalidOption('eventTypes', 'must be a list of dotted lower-case names such as "message.accepted"');
  }
  const tolerance = integerOption(
    invalidOption,
    'toleranceSeconds',
    options.toleranceSeconds,
    DEFAULT_TOLERANCE_SECONDS,
    1,
    3600,
  );
  const hubWindow = integerOption(invalidOption, 'hubReplayWindowSeconds', options.hubReplayWindowSeconds, 86_400, 60);
  const disableAfterDays = integerOption(invalidOption, 'disableAfterDays', options.disableAfterDays, 5, 1, 365);
  if (options.onEndpointDisabled !== undefined && typeof options.onEndpointDisabled !== 'function')
    throw invalidOption('onEndpointDisabled', 'must be a function (endpoint) => void');
  let replay: ReplayStore;
  const choice = options.replayStore ?? 'postgres';
  if (choice === 'memory') replay = memoryReplayStore();
  else if (choice === 'postgres') replay = postgresReplayStore(db);
  else if (choice && typeof choice.claim === 'function') replay = choice;
  else throw invalidOption('replayStore', "must be 'memory', 'postgres' or a ReplayStore");

  let secrets = options.secrets;
  if (!secrets && vault) secrets = vaultSecretStore(vault);
  if (!secrets)
    throw invalidOption(
      'secrets',
      'is required when @harakaflow/credential-vault is not registered (endpoint secrets are never stored in plaintext)',
    );
  const policy: DestinationPolicy = {
    allowHttp: options.allowHttp ?? false,
    allowPrivate: options.allowPrivateDestinations ?? false,
  };
  return {
    db,
    eventTypes,
    tolerance,
    hubWindow,
    disableAfterDays,
    replay,
    replayInPostgres: choice === 'postgres',
    secrets,
    policy,
  };
}
