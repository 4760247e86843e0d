import type { DataRights } from './service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Rights requests of policy §6 (@harakaflow/data-rights). */
    dataRights: DataRights;
  }
}
