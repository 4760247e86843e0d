/**
 * The audit log's public keys (issue 33 item 1), public like the data-rights keys: anyone holding a
 * signed checkpoint, or a copy of the database, checks it with these and no secret of ours.
 * `GET /.well-known/harakaflow-audit-keys.txt`: one C2SP signed-note verifier key a line (what
 * `hf-audit verify --public-key` and any signed-note tool read); `.json`: the same keys as a JWK set
 * (RFC 8037), each with its `vkey`. Without AUDIT_SIGNING_KEYS (production may run without them for
 * this release) both answer 404 HF_AUDIT_SIGNING_DISABLED.
 */
import type { AuditSigningKeys } from '@harakaflow/audit';
import { AuditSigningDisabled } from '../../http/errors.js';
import { jsonObject } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';

export interface AuditKeyRoutesOptions {
  /** config.auditSigningKeys: null serves 404s. */
  keys: AuditSigningKeys | null;
}

// Like the data-rights keys: an hour's caching; a rotation adds a key long before it signs.
const CACHE = 'public, max-age=3600';
const config = { auth: 'public' as const, ageGate: false, errors: { 404: ['HF_AUDIT_SIGNING_DISABLED'] } };

const auditKeyRoutes: Routes<AuditKeyRoutesOptions> = async (app, { keys }) => {
  app.get(
    '/.well-known/harakaflow-audit-keys.txt',
    {
      config,
      schema: {
        tags: ['audit'],
        summary: "The audit log's Ed25519 public keys as C2SP signed-note verifier keys, one a line",
        response: {
          200: {
            description: '`<origin>+<hex key ID>+<base64 key>` lines',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      if (!keys) throw new AuditSigningDisabled();
      return reply
        .header('cache-control', CACHE)
        .type('text/plain; charset=utf-8')
        .send(`${keys.verifierKeys().join('\n')}\n`);
    },
  );

  app.get(
    '/.well-known/harakaflow-audit-keys.json',
    {
      config,
      schema: {
        tags: ['audit'],
        summary: "The audit log's Ed25519 public keys as a JWK set, each with its signed-note verifier key (`vkey`)",
        response: {
          200: jsonObject('A JWK set', {
            keys: { type: 'array', items: { type: 'object', additionalProperties: true } },
          }),
        },
      },
    },
    async (_request, reply) => {
      if (!keys) throw new AuditSigningDisabled();
      return reply.header('cache-control', CACHE).send(keys.jwks());
    },
  );
};

export default auditKeyRoutes;
