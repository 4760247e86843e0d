/**
 * What other workspace code (the reference app, its tests) needs beyond the root export: not a
 * stable API, it may change in any release.
 */
export { isLanguage, placeholdersOf } from './languages.js';
