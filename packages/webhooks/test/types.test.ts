// The types a user of @harakaflow/webhooks meets: the plugin's options, its decorations, the error codes.
import type { Database } from '@harakaflow/db';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import harakaflowWebhooks, {
  verifyWebhook,
  type WebhookService,
  type InboundRouteConfig,
  type InboundWebhook,
  type VerifyResult,
  type WebhookErrorCode,
  type WebhooksErrorCode,
  type WebhooksOptions,
} from '@harakaflow/webhooks';

describe('types', () => {
  it('the plugin and its options', () => {
    expectTypeOf(harakaflowWebhooks).toExtend<FastifyPluginAsync<WebhooksOptions>>();
    expectTypeOf<WebhooksOptions['db']>().toEqualTypeOf<Database>();
    expectTypeOf<WebhooksOptions['eventTypes']>().toEqualTypeOf<readonly string[] | undefined>();
    expectTypeOf<WebhooksOptions['replayStore']>().toExtend<'memory' | 'postgres' | object | undefined>();
    expectTypeOf<WebhooksOptions['disableAfterDays']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<{ db: Database }>().toExtend<WebhooksOptions>();
    // @ts-expect-error db is required
    expectTypeOf<{ eventTypes: string[] }>().toExtend<WebhooksOptions>();
    // @ts-expect-error replayStore is 'memory', 'postgres' or a ReplayStore
    expectTypeOf<{ db: Database; replayStore: 'redis' }>().toExtend<WebhooksOptions>();
  });

  it('the decorations', () => {
    expectTypeOf<FastifyInstance['webhooks']>().toEqualTypeOf<WebhookService>();
    expectTypeOf<FastifyInstance['webhooks']['dispatch']>().toEqualTypeOf<(limit?: number) => Promise<number>>();
    expectTypeOf<FastifyRequest['webhook']>().toEqualTypeOf<InboundWebhook | null>();
    expectTypeOf<InboundRouteConfig['scheme']>().toEqualTypeOf<'standard' | 'meta'>();
  });

  it('the core and the error codes', () => {
    expectTypeOf(verifyWebhook).returns.toEqualTypeOf<VerifyResult>();
    expectTypeOf<WebhookErrorCode>().toExtend<WebhooksErrorCode>();
    expectTypeOf<'HF_WEBHOOK_INVALID_OPTION'>().toExtend<WebhooksErrorCode>();
    // @ts-expect-error a verification result carries a verification code only
    expectTypeOf<'HF_WEBHOOK_INVALID_QUERY'>().toExtend<WebhookErrorCode>();
  });
});
