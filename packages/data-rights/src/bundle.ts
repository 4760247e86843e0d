/**
 * The export bundle (issue 14 item 3): one JSON document `{ "parts": { "<handler>": ... },
 * "article15": { ... }, "article15Html": "...", "manifest": { ... } }`, parts first so it streams,
 * then the host's Article 15 statement and its page when it gives one (issue 32 item 5), the
 * manifest last and signed. Written as a
 * stream of text pieces; a streamed part (an async iterable of records) is written record by
 * record, so no part is ever held whole in memory.
 */
import { isRecordStream, type PersonalDataHandler, type SubjectRef } from '@harakaflow/core';
import { createHash } from 'node:crypto';
import {
  article15Html,
  holdsData,
  normalizeArticle15,
  type Article15Builder,
  type Article15Input,
} from './article15.js';
import { invalidOption } from './errors.js';
import type { SigningKeys } from './signing.js';

export interface ManifestPart {
  name: string;
  /** Records in the part: a streamed part's records, or 1 for a part that is one value. */
  records: number;
  /** SHA-256 (hex) of the part's JSON text exactly as it appears in the document. */
  sha256: string;
  /** What the part leaves out and why (secret values, key digests...), or null. */
  withheld: string | null;
}

export interface Manifest {
  requestId: string;
  subject: { kind: SubjectRef['kind'] };
  generatedAt: string;
  parts: ManifestPart[];
  /**
   * SHA-256 (hex) of the `article15` section's JSON text and of the `article15Html` page as they
   * appear in the document (issue 32 item 5); absent when the host gives no statement, and in
   * exports made before it.
   */
  article15?: { sha256: string; htmlSha256: string } | undefined;
  keyId: string;
  /** Ed25519 over the canonical JSON of the manifest without `keyId` and `signature`. */
  signature: string;
}

/** The manifest fields a signature covers: everything but the signature itself. */
export function signedManifestFields(manifest: Manifest): Omit<Manifest, 'keyId' | 'signature'> {
  const { keyId: _k, signature: _s, ...rest } = manifest;
  return rest;
}

function jsonOf(value: unknown): string {
  // A value JSON cannot carry (undefined, a function) is written as null: the document stays valid.
  return JSON.stringify(value ?? null) ?? 'null';
}

/** Where a part (or the manifest) starts and ends in the document: what a zip entry is cut from. */
export interface Mark {
  mark: 'start' | 'end';
  name: string;
  /** The zip entry's file name; default `<name>.json`. */
  file?: string | undefined;
}

/**
 * The document, piece by piece, with a mark where each part's text (and the manifest's) starts and
 * ends. `handlers` are asked in order; a handler that fails stops the export (the request is
 * retried), it never yields a bundle with a part silently missing.
 */
export async function* bundlePieces(
  requestId: string,
  ref: SubjectRef,
  handlers: readonly PersonalDataHandler[],
  keys: SigningKeys,
  now: () => Date,
  article15?: Article15Builder,
): AsyncGenerator<string | Mark> {
  const parts: ManifestPart[] = [];
  /** Each part as the Article 15 builder is told of it (whether it holds anything, its handler's classes). */
  const described: Article15Input['parts'][number][] = [];
  yield '{"parts":{';
  let first = true;
  for (const handler of handlers) {
    const hash = createHash('sha256');
    let records = 0;
    let holds: boolean;
    const emit = (text: string) => {
      hash.update(text);
      return text;
    };
    yield `${first ? '' : ','}${JSON.stringify(handler.name)}:`;
    first = false;
    yield { mark: 'start', name: handler.name };
    const part = handler.exportSubject(ref);
    if (isRecordStream(part)) {
      yield emit('[');
      for await (const record of part) {
        yield emit(`${records ? ',' : ''}${jsonOf(record)}`);
        records++;
      }
      yield emit(']');
      holds = records > 0;
    } else {
      const value = await part;
      yield emit(jsonOf(value));
      records = 1;
      holds = holdsData(value);
    }
    yield { mark: 'end', name: handler.name };
    parts.push({ name: handler.name, records, sha256: hash.digest('hex'), withheld: handler.withheld ?? null });
    described.push({ name: handler.name, records, holds, retentionClasses: handler.retentionClasses ?? [] });
  }
  yield '}';
  const generatedAt = now().toISOString();
  let statement: Manifest['article15'];
  if (article15) {
    // Built once every part is written, so it speaks of the parts that hold records.
    const answer = normalizeArticle15(await article15({ ref, generatedAt, parts: described }));
    if (!answer) throw invalidOption('article15', 'returned something that is not an Article 15 statement');
    const json = JSON.stringify(answer);
    const html = article15Html(answer, generatedAt);
    yield ',"article15":';
    yield { mark: 'start', name: 'article15' };
    yield json;
    yield { mark: 'end', name: 'article15' };
    // The page is its own JSON string body (article15Html escapes all a JSON string would), so the
    // zip's article15.html is cut from the document like every other entry.
    yield ',"article15Html":"';
    yield { mark: 'start', name: 'article15Html', file: 'article15.html' };
    yield html;
    yield { mark: 'end', name: 'article15Html' };
    yield '"';
    statement = {
      sha256: createHash('sha256').update(json).digest('hex'),
      htmlSha256: createHash('sha256').update(html).digest('hex'),
    };
  }
  const unsigned = {
    requestId,
    subject: { kind: ref.kind },
    generatedAt,
    parts,
    ...(statement ? { article15: statement } : {}),
  };
  const manifest: Manifest = { ...unsigned, ...keys.sign(unsigned) };
  yield ',"manifest":';
  yield { mark: 'start', name: 'manifest' };
  yield JSON.stringify(manifest);
  yield { mark: 'end', name: 'manifest' };
  yield '}';
}
