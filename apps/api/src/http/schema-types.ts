import { AjvCompiler } from '@fastify/ajv-compiler';
import type {
  FastifyPluginAsync,
  FastifyPluginOptions,
  FastifyServerOptions,
  FastifyTypeProvider,
  RawServerDefault,
} from 'fastify';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

/**
 * The JSON-schema type provider of the app's routes (issue 19 item 4): a route's body, query,
 * params and headers are typed from the schemas that validate them (route plugins are `Routes`,
 * schemas written `as const`), so each is written once. Replies stay typed by the handlers
 * (they return Dates and plain strings that the response schemas serialize); the response
 * schemas are checked against every response the tests receive (test/contract.ts).
 */
export interface SchemaTypes extends FastifyTypeProvider {
  validator: this['schema'] extends JSONSchema ? FromSchema<this['schema']> : unknown;
  serializer: unknown;
}

/** A plugin of routes whose request parts are typed from their schemas. */
export type Routes<Options extends FastifyPluginOptions = Record<never, never>> = FastifyPluginAsync<
  Options,
  RawServerDefault,
  SchemaTypes
>;

/** What Fastify hands a validator compiler for one part of one route. */
interface RouteSchemaDefinition {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
}
type ValidatorBuilder = (
  externalSchemas: Record<string, unknown>,
  options?: { customOptions?: Record<string, unknown> },
) => (route: RouteSchemaDefinition) => unknown;

/**
 * Validation without type coercion (issue 31 item 5): Fastify's default Ajv has `coerceTypes:
 * 'array'`, so `{"name":true}` passed a string schema as "true", `null` passed a boolean one as
 * false, and a string a list one as a list of one. Bodies, path parameters and headers are
 * validated as they were sent; the query string, which is text, keeps the coercion its declared
 * numbers, booleans and lists need (`?limit=10` for an integer `limit`). Two Ajv instances from
 * Fastify's own compiler (@fastify/ajv-compiler: its formats and defaults), both with the server's
 * `ajv` options and shared schemas, chosen per part of the request. The types above then say
 * exactly what a handler receives.
 */
export function strictValidation(): Pick<FastifyServerOptions, 'schemaController'> {
  const pool = AjvCompiler() as unknown as ValidatorBuilder;
  const buildValidator: ValidatorBuilder = (externalSchemas, options = {}) => {
    const custom = options.customOptions ?? {};
    const asSent = pool(externalSchemas, { ...options, customOptions: { ...custom, coerceTypes: false } });
    const query = pool(externalSchemas, { ...options, customOptions: { ...custom, coerceTypes: 'array' } });
    return (route) => (route.httpPart === 'querystring' ? query(route) : asSent(route));
  };
  return {
    schemaController: {
      compilersFactory: {
        buildValidator: buildValidator as unknown as NonNullable<
          NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
        >['buildValidator'],
      },
    },
  };
}
