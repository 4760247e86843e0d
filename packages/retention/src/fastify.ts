import type { Holds } from './holds.js';
import type { RetentionRunner } from './runner.js';

export interface RetentionDecorator {
  runner: RetentionRunner;
  holds: Holds;
  /** GET /v1/admin/retention: every class (its clause, period, oldest row), the holds, the last run. */
  status(): Promise<{
    classes: {
      name: string;
      clause: string;
      periodDays: number | null;
      perPlanDays: Record<string, number>;
      oldest: string | null;
    }[];
    holds: Awaited<ReturnType<Holds['list']>>;
    lastRun: Awaited<ReturnType<RetentionRunner['lastRun']>>;
  }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Retention classes, their runner and legal holds (@harakaflow/retention). */
    retention: RetentionDecorator;
  }
}
