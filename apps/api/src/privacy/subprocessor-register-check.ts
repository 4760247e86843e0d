// The check of an operator's processor register (SUBPROCESSORS_FILE): the entries typed, or every problem named.
import type { Subprocessor, TransferMechanism } from './subprocessor-types.js';

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MECHANISMS: readonly TransferMechanism[] = ['none', 'adequacy', 'scc', 'dpf'];
const TEXT_MAX = 500;

const isDay = (v: unknown): v is string =>
  typeof v === 'string' &&
  DAY.test(v) &&
  !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) &&
  new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v;
/**
 * One line of plain text: no control characters, line separators, bidi marks and overrides or invisible characters (it
 * is shown on a page and in mail, where one name must not pass for another).
 */
const isText = (v: unknown, max = TEXT_MAX): v is string =>
  typeof v === 'string' &&
  v.trim() !== '' &&
  v.length <= max &&
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  !/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/.test(v);

/**
 * Checks a register (the parsed JSON of SUBPROCESSORS_FILE): returns it typed, or the problems,
 * each naming the entry (by index and id) and the field. Unknown fields are problems too (a typo
 * in `until` must not silently keep a provider listed).
 */
export function checkRegister(input: unknown): { register: Subprocessor[]; problems: string[] } {
  const problems: string[] = [];
  if (!Array.isArray(input)) return { register: [], problems: ['must be a JSON array of providers'] };
  if (input.length > 200) return { register: [], problems: [`holds ${input.length} providers: at most 200`] };
  const seen = new Set<string>();
  const allowed = new Set([
    'id',
    'name',
    'purpose',
    'dataCategories',
    'location',
    'transfer',
    'contractUrl',
    'since',
    'until',
  ]);
  input.forEach((raw: unknown, i) => {
    const e = raw as Record<string, unknown> | null;
    const at = `entry ${i}${e && typeof e.id === 'string' && ID.test(e.id) ? ` (${e.id})` : ''}`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return void problems.push(`${at}: must be an object`);
    for (const key of Object.keys(e))
      if (!allowed.has(key)) problems.push(`${at}: unknown field ${JSON.stringify(key.slice(0, 40))}`);
    if (typeof e.id !== 'string' || !ID.test(e.id))
      problems.push(`${at}: id must be lower-case letters, digits and - (at most 63)`);
    else if (seen.has(e.id)) problems.push(`${at}: id is used twice`);
    else seen.add(e.id);
    for (const key of ['name', 'purpose', 'location'] as const)
      if (!isText(e[key])) problems.push(`${at}: ${key} must be one line of text (at most ${TEXT_MAX} characters)`);
    if (
      !Array.isArray(e.dataCategories) ||
      !e.dataCategories.length ||
      e.dataCategories.length > 30 ||
      !e.dataCategories.every((c) => isText(c, 100))
    ) {
      problems.push(`${at}: dataCategories must list 1 to 30 categories, each one line of at most 100 characters`);
    }
    const t = e.transfer as Record<string, unknown> | null | undefined;
    if (typeof t !== 'object' || t === null || !MECHANISMS.includes(t.mechanism as TransferMechanism)) {
      problems.push(`${at}: transfer.mechanism must be one of ${MECHANISMS.join(', ')}`);
    } else {
      if (t.mechanism === 'scc' && ![1, 2, 3, 4].includes(t.sccModule as number))
        problems.push(`${at}: transfer.sccModule must be 1, 2, 3 or 4 with mechanism scc`);
      if (t.mechanism !== 'scc' && t.sccModule !== undefined)
        problems.push(`${at}: transfer.sccModule is for mechanism scc only`);
      if (t.note !== undefined && !isText(t.note)) problems.push(`${at}: transfer.note must be one line of text`);
      for (const key of Object.keys(t))
        if (!['mechanism', 'sccModule', 'note'].includes(key))
          problems.push(`${at}: unknown field transfer.${key.slice(0, 40)}`);
    }
    let url: URL | null = null;
    try {
      url = typeof e.contractUrl === 'string' && e.contractUrl.length <= 500 ? new URL(e.contractUrl) : null;
    } catch {
      url = null;
    }
    if (!url || url.protocol !== 'https:' || url.username || url.password)
      problems.push(`${at}: contractUrl must be an https URL without credentials`);
    if (!isDay(e.since)) problems.push(`${at}: since must be a day, YYYY-MM-DD`);
    if (e.until !== undefined && (!isDay(e.until) || (isDay(e.since) && e.until <= e.since)))
      problems.push(`${at}: until must be a day (YYYY-MM-DD) after since`);
  });
  // The contract link as the URL parser reads it (what was checked), not as written.
  return {
    register: problems.length
      ? []
      : (input as Subprocessor[]).map((p) => ({ ...p, contractUrl: new URL(p.contractUrl).href })),
    problems,
  };
}
