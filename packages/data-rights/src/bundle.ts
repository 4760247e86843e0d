/**
 * The export bundle (issue 14 item 3): one JSON document `{ "parts": { "<handler>": ... },
 * "manifest": { ... } }`, parts first so it streams, the manifest last and signed. Written as a
 * stream of text pieces; a streamed part (an async iterable of records) is written record by
 * record, so no part is ever held whole in memory.
 */
import { isRecordStream, type PersonalDataHandler, type SubjectRef } from '@harakaflow/core';
import { createHash } from 'node:crypto';
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
): AsyncGenerator<string | Mark> {
  const parts: ManifestPart[] = [];
  yield '{"parts":{';
  let first = true;
  for (const handler of handlers) {
    const hash = createHash('sha256');
    let records = 0;
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
    } else {
      yield emit(jsonOf(await part));
      records = 1;
    }
    yield { mark: 'end', name: handler.name };
    parts.push({ name: handler.name, records, sha256: hash.digest('hex'), withheld: handler.withheld ?? null });
  }
  const unsigned = { requestId, subject: { kind: ref.kind }, generatedAt: now().toISOString(), parts };
  const manifest: Manifest = { ...unsigned, ...keys.sign(unsigned) };
  yield '},"manifest":';
  yield { mark: 'start', name: 'manifest' };
  yield JSON.stringify(manifest);
  yield { mark: 'end', name: 'manifest' };
  yield '}';
}
