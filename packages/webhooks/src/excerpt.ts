/**
 * What the delivery log keeps of an endpoint's answer (issue 34 item 1): at most 1 KiB of its body,
 * as text. Never a header. A receiver that echoes the request back (debugging endpoints, request
 * bins) would hand us our own signature, or its secret if it prints it, in whatever encoding its
 * code chose. So every form of each secret and MAC of the request is derived (security review M2):
 * as sent, without padding, base64url, hex of the bytes in either case, `whsec_` with or without
 * padding, JSON's `\/`, percent-encoded with upper or lower case escapes, `+` read as a space. Any
 * run of 16 or more characters that is a piece of one of those forms is redacted, not only a whole
 * form: a secret cut in two, or its middle printed alone, goes too.
 *
 * Redacting shortens the text, so what lay near the end of the 4 KiB read can slide into the kept
 * 1 KiB (review M3): a form cut by the read (or by the send's deadline) is dropped from the end
 * before redacting, and the end of the kept part again after the cut to 1 KiB.
 */

/** The most of a response body the log keeps, in UTF-8 bytes. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** How much of a body is read for it. */
export const RESPONSE_READ_BYTES = 4096;
/** The shortest piece of a form that is redacted wherever it appears. */
export const REDACTED_RUN = 16;
/** Values shorter than this are not secrets (nothing is derived from them). */
const SHORTEST_VALUE = 8;
const REDACTED = '[redacted]';
const PREFIX = 'whsec_';
/** Standard or URL-safe base64, padded or not. */
const BASE64ISH = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** ASCII letters in lower case, every other character as it is: positions stay those of `text`. */
const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The forms of some values, ready to match: case-sensitive ones, and hex matched in lower case. */
interface Forms {
  exact: string[];
  folded: string[];
}

/**
 * The spellings an echo may give one encoded form: as is, JSON's `\/`, percent-encoded (either case), `+` read as a
 * space.
 */
function spellings(form: string): string[] {
  const percent = encodeURIComponent(form);
  return [
    form,
    form.replaceAll('/', '\\/'),
    percent,
    percent.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    form.replaceAll('+', ' '),
  ];
}

/** Every form of each value (a `whsec_` secret, bare base64, a MAC, or any string) an echo may contain. */
function formsOf(values: readonly string[]): Forms {
  const exact = new Set<string>();
  const folded = new Set<string>();
  for (const value of values) {
    if (value.length < SHORTEST_VALUE) continue;
    for (const s of spellings(value)) exact.add(s);
    const prefixed = value.startsWith(PREFIX);
    const body = prefixed ? value.slice(PREFIX.length) : value;
    if (!BASE64ISH.test(body)) continue;
    const bytes = Buffer.from(body, 'base64'); // Node's decoder reads both alphabets
    if (bytes.length < SHORTEST_VALUE) continue;
    const padded = bytes.toString('base64');
    const url = bytes.toString('base64url');
    for (const form of [padded, padded.replace(/=+$/, ''), url, url + padded.slice(url.length)]) {
      for (const s of spellings(form)) exact.add(s);
      if (prefixed) for (const s of spellings(PREFIX + form)) exact.add(s);
    }
    folded.add(bytes.toString('hex'));
  }
  return { exact: [...exact].filter((f) => f.length >= SHORTEST_VALUE), folded: [...folded] };
}

/** Each form's pieces of REDACTED_RUN characters (a shorter form whole), by length. */
function pieces(forms: readonly string[]): Map<number, Set<string>> {
  const byLength = new Map<number, Set<string>>();
  for (const f of forms) {
    const n = Math.min(f.length, REDACTED_RUN);
    const set = byLength.get(n) ?? new Set<string>();
    byLength.set(n, set);
    for (let i = 0; i + n <= f.length; i++) set.add(f.slice(i, i + n));
  }
  return byLength;
}

/** `text` with every run covered by a piece of a form replaced by `[redacted]`. */
function redact(text: string, forms: Forms): string {
  const exact = pieces(forms.exact);
  const folded = pieces(forms.folded);
  // Code units marked (the forms are ASCII).
  const marked = new Uint8Array(text.length);
  const mark = (table: Map<number, Set<string>>, source: string) => {
    for (const [n, set] of table) {
      for (let i = 0; i + n <= source.length; i++) if (set.has(source.slice(i, i + n))) marked.fill(1, i, i + n);
    }
  };
  mark(exact, text);
  mark(folded, asciiLower(text));
  let out = '';
  for (let i = 0; i < text.length;) {
    if (!marked[i]) {
      out += text[i++];
      continue;
    }
    while (marked[i]) i++;
    out += REDACTED;
  }
  return out;
}

/** `text` without its end when that end is the start of a form (a form cut there). */
function dropCutForm(text: string, forms: Forms): string {
  let cut = 0;
  const lower = asciiLower(text);
  const longest = (source: string, form: string) => {
    for (let k = Math.min(form.length, source.length); k > cut; k--) if (source.endsWith(form.slice(0, k))) return k;
    return cut;
  };
  for (const f of forms.exact) cut = longest(text, f);
  for (const f of forms.folded) cut = longest(lower, f);
  return cut ? text.slice(0, text.length - cut) : text;
}

/** Text cut to at most `max` UTF-8 bytes, never inside a character. */
function cutUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * The excerpt of a response body: decoded as UTF-8 (bad bytes become U+FFFD), every form of each
 * of `secrets` (signatures, secrets, MACs) redacted as above, U+0000 replaced (Postgres text cannot
 * hold it), cut to 1 KiB. `cut`: the body is not whole (the read stopped at 4 KiB, or the
 * deadline); by default, when it has 4 KiB or more. Null for an empty body.
 */
export function responseExcerpt(
  body: Uint8Array | null | undefined,
  secrets: readonly string[] = [],
  options: { cut?: boolean | undefined } = {},
): string | null {
  if (!body?.length) return null;
  const forms = formsOf(secrets);
  let text = new TextDecoder('utf-8').decode(body.subarray(0, RESPONSE_READ_BYTES));
  if (options.cut ?? body.length >= RESPONSE_READ_BYTES) text = dropCutForm(text, forms);
  text = redact(text, forms).replaceAll('\u0000', '\uFFFD');
  const kept = cutUtf8(text, RESPONSE_EXCERPT_BYTES);
  return kept.length < text.length ? dropCutForm(kept, forms) : kept;
}

/**
 * What a signed request must not leave in the log: each secret and each signature's MAC (their forms are derived from
 * them).
 */
export function redactionsOf(secrets: readonly string[], signatureHeader: string | undefined): string[] {
  const macs = (signatureHeader ?? '').split(' ').map((s) => s.slice(s.indexOf(',') + 1));
  return [...secrets, ...macs].filter((s) => s.length >= SHORTEST_VALUE);
}
