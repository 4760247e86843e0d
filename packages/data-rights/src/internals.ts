/**
 * What other workspace code (the reference app, its tests) needs beyond the root export: not a
 * stable API, it may change in any release.
 */
export { canTransition, isFinal } from './states.js';
export { holdsData } from './article15.js';
