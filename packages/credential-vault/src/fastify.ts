import type { VaultStore } from './store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The credential vault: put, get, getMany, putMany, delete, list, deleteSession, deleteAccount, status,
     * rewrapBatch.
     */
    vault: VaultStore;
  }
}
