/** The variable table's webhook entries (§3): Meta's inbound secrets and the outbound destination policy. */
import { count, flag, secret, variable } from './readers.js';
import type { EnvVariable } from './types.js';

export const WEBHOOKS_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'META_APP_SECRET',
    key: 'metaAppSecret',
    shown: 'unset',
    meaning:
      "the Meta app's secret: verifies `POST /v1/webhooks/inbound/meta` (`X-Hub-Signature-256`); unset, that route answers 503 `HF_WEBHOOK_NOT_CONFIGURED`",
    read: secret(16, 'must be at least 16 characters (the app secret from the Meta app dashboard)'),
  }),
  variable({
    name: 'META_VERIFY_TOKEN',
    key: 'metaVerifyToken',
    shown: 'unset',
    meaning: 'the token Meta sends when it checks the callback URL (`GET /v1/webhooks/inbound/meta`)',
    read: secret(16, 'must be at least 16 characters'),
  }),
  variable({
    name: 'WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS',
    key: 'webhooksAllowPrivateDestinations',
    shown: '`0`',
    meaning:
      '`1` lets webhook endpoints be loopback, private or link-local addresses: development and tests only (SSRF)',
    read: flag,
  }),
  variable({
    name: 'WEBHOOKS_ALLOW_HTTP',
    key: 'webhooksAllowHttp',
    shown: '`0`',
    meaning: '`1` lets webhook endpoints be `http://`: development and tests only',
    read: flag,
  }),
  variable({
    name: 'WEBHOOKS_DISABLE_AFTER_DAYS',
    key: 'webhooksDisableAfterDays',
    shown: '`5`',
    meaning:
      'days of failing every delivery attempt after which a webhook endpoint is disabled (1 to 30; a `410` answer disables it at once): its deliveries are held, not dropped, the account is emailed (`webhook.endpoint_disabled`), and `POST /v1/webhooks/endpoints/:id/enable` sends them',
    read: count(5, { max: 30, says: (n) => `must be at most 30 days (held deliveries are kept 30 days; got ${n})` }),
  }),
];
