/** A route option's hooks as a list (Fastify takes one function or an array), to add one of ours. */
export function hookList<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}
