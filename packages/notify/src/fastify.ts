import type { Notifier } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Notifications to people: the outbox and its dispatcher (@harakaflow/notify). */
    notify: Notifier;
  }
}
