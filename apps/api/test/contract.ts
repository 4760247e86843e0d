// Issue 19 item 6: every response the app's tests receive is checked against the schema the OpenAPI
// document (/docs/json) declares for its operation and status, so the document cannot drift from
// the code. testApp installs the check on every app it builds; a response that does not match, or
// a status the operation does not declare, fails the test that received it (afterEach below).
import { Ajv, type ValidateFunction } from 'ajv';
import { documentedRoutes } from '@harakaflow/api';
import type { FastifyInstance } from 'fastify';
import { afterEach, expect } from 'vitest';

type Schema = Record<string, unknown>;
type Operation = { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> };
type Document = { paths?: Record<string, Record<string, Operation>>; components?: Schema };

const violations: string[] = [];
/** The violations recorded so far, taken (the test of this check reads them itself). */
export const takeViolations = (): string[] => violations.splice(0);

afterEach(() => {
  const seen = violations.splice(0);
  expect(seen, 'responses that differ from the OpenAPI document').toEqual([]);
});

/** A Fastify route path as OpenAPI writes it: `:id` becomes `{id}`. */
export const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Checks every JSON response of `app` against its documented schema (after ready: the document is complete then). */
export function checkResponsesAgainstDocument(app: FastifyInstance): void {
  let doc: Document | undefined;
  // The app's own routes: those a test adds after this (a route that throws, one that echoes) are not the API.
  const own = new Set(documentedRoutes(app).map((r) => `${r.method} ${r.url}`));
  // The document's own dialect: OpenAPI 3.1 schemas are JSON Schema; unknown keywords
  // (`description` on a status, `example`) are annotations.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validators = new Map<string, ValidateFunction | null>();
  const validatorFor = (key: string, schema: Schema | undefined): ValidateFunction | null => {
    if (!validators.has(key)) {
      const refs = JSON.parse(
        JSON.stringify(schema ?? null).replaceAll('"#/components/', '"openapi#/components/'),
      ) as Schema | null;
      validators.set(key, refs ? ajv.compile(refs) : null);
    }
    return validators.get(key)!;
  };
  app.addHook('onReady', async () => {
    doc = app.swagger() as unknown as Document;
    ajv.addSchema({ $id: 'openapi', components: doc.components ?? {} });
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const url = request.routeOptions.url;
    if (!doc || !url || request.method === 'HEAD' || !own.has(`${request.method} ${url}`)) return payload;
    const path = openapiPath(url);
    const operation = doc.paths?.[path]?.[request.method.toLowerCase()];
    if (!operation) return payload; // hidden from the document (schema.hide), or not a route of the app
    const status = reply.statusCode;
    const declared =
      operation.responses?.[String(status)] ??
      operation.responses?.[`${String(status)[0]}XX`] ??
      operation.responses?.default;
    const where = `${request.method} ${url} ${status}`;
    if (!declared) {
      violations.push(`${where}: the document declares no ${status} response`);
      return payload;
    }
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/json') || typeof payload !== 'string') return payload;
    const schema = declared.content?.['application/json']?.schema;
    if (!schema) {
      violations.push(`${where}: a JSON body where the document declares none`);
      return payload;
    }
    const validate = validatorFor(`${request.method} ${path} ${status}`, schema);
    const body: unknown = JSON.parse(payload);
    const code = (body as { code?: unknown } | null)?.code;
    if (validate && !validate(body))
      violations.push(`${where}${typeof code === 'string' ? ` ${code}` : ''}: ${ajv.errorsText(validate.errors)}`);
    return payload;
  });
}
