/**
 * `@harakaflow/core/internals`: plumbing the kit's own packages and reference app share (the random
 * pool, route hook lists, the development secrets file). Not a stable API: it may change in any release.
 */
export { hookList } from './hooks.js';
export { randomCopy, randomView } from './random.js';
export { givenDataDir, readSecret } from './secrets-file.js';
export type { FoundSecret } from './secrets-file.js';
