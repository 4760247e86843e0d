// The pages' catalogue type: every key of the English texts (en.ts), nothing else. A leaf module, so
// each language's catalogue (sw.ts) is typed without importing languages.ts.
import type { en } from './en.js';

export type PageKey = keyof typeof en;
/** A language's texts of the pages: every key, nothing else. */
export type PageCatalogue = { readonly [K in PageKey]: string };
