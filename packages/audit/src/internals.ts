/** What other workspace code (the reference app) needs beyond the public API: not a stable API. */
export { isKeyName } from './note.js';
export { events as auditEvents } from './schema.js';
export { ERASURE_ACTION } from './store.js';
