import type { WebhookService } from './service.js';

export interface InboundRouteConfig {
  scheme: 'standard' | 'meta';
  /** The secret(s) deliveries are signed with, or a function giving them (rotation without restart). */
  secrets: readonly string[] | (() => readonly string[] | Promise<readonly string[]>);
}

export interface InboundWebhook {
  scheme: 'standard' | 'meta';
  /** webhook-id (Standard) or the body's SHA-256 (Meta). */
  id: string;
  rawBody: Buffer;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Verify this route's body as a webhook before parsing it (@harakaflow/webhooks). */
    webhook?: InboundRouteConfig;
  }
  interface FastifyInstance {
    /** Outbound webhooks: endpoints, emit, dispatch (@harakaflow/webhooks). */
    webhooks: WebhookService;
  }
  interface FastifyRequest {
    /** The verified inbound delivery on a webhook route, else null (@harakaflow/webhooks). */
    webhook: InboundWebhook | null;
  }
}
