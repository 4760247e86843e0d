/** The shape of a catalogue (en.ts is the list of keys): a leaf the catalogues and languages.ts both import. */
import type { en } from './en.js';

/** Every text of every message, by key (en.ts is the list of keys). */
export type MessageKey = keyof typeof en;
/** A language's catalogue: a text for every key, nothing else. */
export type Catalogue = { readonly [K in MessageKey]: string };
