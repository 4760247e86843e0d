import type { FastifyPluginAsync, FastifyPluginOptions, FastifyTypeProvider, RawServerDefault } from 'fastify';
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
export type Routes<Options extends FastifyPluginOptions = Record<never, never>> = FastifyPluginAsync<Options, RawServerDefault, SchemaTypes>;
