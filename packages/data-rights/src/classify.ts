/**
 * The kind of a request written in a person's own words (an email to the privacy mailbox, issue
 * 32): the kind whose phrases the text uses when exactly one kind's do, else `unclassified` for
 * the admin. English phrases only; a request in another language, or one asking two things
 * ("delete my data and send me a copy"), is the admin's to classify. Bounded gaps between words
 * keep every pattern linear in the text's length.
 */
import type { FilingKind } from './types.js';

const GAP = '[^.!?\\n]{0,60}';
const PHRASES: Record<FilingKind, RegExp> = {
  withdraw_consent: new RegExp(
    `\\b(withdraw|withdrawing|revoke|revoking|retract)\\b${GAP}\\bconsent\\b|\\bconsent\\b${GAP}\\b(withdraw|withdrawn|revoked?)\\b`,
  ),
  deletion: new RegExp(
    `\\b(delete|deletion|erase|erasure|remove|wipe|forget)\\b${GAP}\\b(data|account|information|details|number|me|everything|records?)\\b|\\bright to (be forgotten|erasure)\\b|\\bclose my account\\b`,
  ),
  portability: new RegExp(
    `\\bportab(le|ility)\\b|\\bmachine[- ]readable\\b|\\b(transfer|port|move)\\b${GAP}\\bmy (data|information)\\b${GAP}\\b(to|another)\\b`,
  ),
  access: new RegExp(
    `\\b(access|copy)\\b${GAP}\\b(my|personal) (data|information|details)\\b|\\bsubject access\\b|\\bdsar\\b|\\bwhat (personal )?(data|information) (do )?you (hold|have|keep|store)\\b`,
  ),
  correction: new RegExp(
    `\\b(correct|rectify|rectification|update|fix)\\b${GAP}\\b(my|the) (name|email|address|details|data|information|number|spelling)\\b|\\b(inaccurate|incorrect|wrong|outdated) (data|information|details|name|address)\\b`,
  ),
  restriction: new RegExp(
    `\\brestrict(ion|ing)?\\b${GAP}\\b(processing|use)\\b|\\b(pause|suspend|freeze)\\b${GAP}\\bprocessing\\b`,
  ),
  objection: new RegExp(
    `\\bobject(ion|ing)?\\b${GAP}\\b(processing|marketing|profiling|use|using)\\b|\\bstop (using|processing) my\\b|\\bopt[- ]?out\\b`,
  ),
};

/** The one kind the text asks for, or `unclassified` (none, or more than one). */
export function classifyRequest(text: string): FilingKind | 'unclassified' {
  const lower = String(text).slice(0, 20_000).toLowerCase();
  const kinds = (Object.keys(PHRASES) as FilingKind[]).filter((kind) => PHRASES[kind].test(lower));
  // "A copy of my data in a machine-readable format" asks for portability, which includes access.
  if (kinds.length === 2 && kinds.includes('access') && kinds.includes('portability')) return 'portability';
  return kinds.length === 1 ? kinds[0]! : 'unclassified';
}
