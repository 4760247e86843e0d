// The published Ed25519 public keys (JWK set) that export manifests and erasure receipts verify with.
import { jsonObject } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';

const signingKeyRoutes: Routes = async (app) => {
  app.get(
    '/.well-known/harakaflow-signing-keys.json',
    {
      config: { auth: 'public', ageGate: false },
      schema: {
        tags: ['privacy'],
        summary: 'The Ed25519 public keys of export manifests and erasure receipts (JWK set)',
        response: {
          200: jsonObject('A JWK set', {
            keys: { type: 'array', items: { type: 'object', additionalProperties: true } },
          }),
        },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(app.dataRights.publicKeys()),
  );
};

export default signingKeyRoutes;
