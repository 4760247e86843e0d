import type { FastifyRequest } from 'fastify';

/** Who the request is about: the same option, `subject`, in every package (contract item 8). */
export type SubjectResolver = (request: FastifyRequest) => string | undefined;

/**
 * The authenticated principal the reference app puts on `request.principal`. Packages read it
 * only through `defaultSubject`, so a server without it just has no subjects.
 */
export interface Principal {
  kind: 'account' | 'admin';
  id: string;
}

/** The default `subject`: the authenticated account's id, if any. */
export const defaultSubject: SubjectResolver = (request) => {
  const principal = (request as { principal?: Principal | null }).principal;
  return principal?.kind === 'account' ? principal.id : undefined;
};
