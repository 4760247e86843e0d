// Issue 32 item 5: the Article 15 statement in the export document, its page, and the signed
// manifest that covers both; the page is its own JSON string body, so the zip cuts it byte for byte.
import type { PersonalDataHandler } from '@harakaflow/core';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { article15Html, holdsData, isArticle15, type Article15, type Article15Input } from '../src/article15.js';
import { bundlePieces, signedManifestFields, type Manifest, type Mark } from '../src/bundle.js';
import { generateSigningKey, SigningKeys, verifySignature } from '../src/signing.js';

const keys = new SigningKeys(generateSigningKey('k1'));

const handler = (name: string, records: unknown[], retentionClasses?: string[]): PersonalDataHandler => ({
  name,
  identifiers: ['account'],
  retentionClasses,
  exportSubject: async function* () {
    yield* records;
  },
  eraseSubject: async () => ({ erased: 0 }),
});

/** A handler whose part is one value. */
const value = (name: string, v: unknown): PersonalDataHandler => ({
  name,
  identifiers: ['account'],
  exportSubject: async () => v,
  eraseSubject: async () => ({ erased: 0 }),
});

const statement = (over: Partial<Article15> = {}): Article15 => ({
  controller: { name: 'HarakaFlow', contact: 'privacy@harakaflow.io' },
  purposes: [{ key: 'service', text: 'Provide the Service', parts: ['messages'] }],
  categories: [{ key: 'usage', text: 'Usage data', parts: ['messages'] }],
  recipients: [{ name: 'Host "A" <b>', purpose: 'Runs it', dataCategories: ['logs'], location: 'EU' }],
  retention: [{ class: 'message_logs', policyClause: '§4: up to 90 days', periodDays: 90, parts: ['messages'] }],
  sources: [{ part: 'messages', source: 'You' }],
  transfers: [],
  rights: [{ right: 'Access', how: 'Ask' }],
  automatedDecisions: 'None',
  ...over,
});

/** The document as the store writes it, with the layout of its marks. */
async function documentOf(pieces: AsyncIterable<string | Mark>) {
  let text = '';
  const layout: { name: string; start: number; end: number }[] = [];
  for await (const piece of pieces) {
    if (typeof piece === 'string') text += piece;
    else if (piece.mark === 'start')
      layout.push({ name: piece.file ?? `${piece.name}.json`, start: Buffer.byteLength(text), end: 0 });
    else layout.at(-1)!.end = Buffer.byteLength(text);
  }
  const bytes = Buffer.from(text);
  const entry = (name: string) => {
    const e = layout.find((l) => l.name === name)!;
    return bytes.subarray(e.start, e.end).toString();
  };
  return {
    doc: JSON.parse(text) as {
      parts: Record<string, unknown>;
      article15?: Article15;
      article15Html?: string;
      manifest: Manifest;
    },
    layout,
    entry,
  };
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const now = () => new Date('2026-12-07T10:00:00Z');

describe('the Article 15 statement in an export', () => {
  it('is built once the parts are written, from their record counts and classes, and lands in the document, the zip layout and the signed manifest', async () => {
    const asked: Article15Input[] = [];
    const pieces = bundlePieces(
      'req-1',
      { kind: 'account', accountId: 'acct-1' },
      [
        handler('messages', [{ a: 1 }, { a: 2 }], ['message_logs']),
        handler('notify', []),
        value('webhooks', { endpoints: [], deliveries: [] }),
        value('app', { account: { name: 'Amina' }, keys: [] }),
      ],
      keys,
      now,
      (input) => {
        asked.push(input);
        return statement();
      },
    );
    const { doc, layout, entry } = await documentOf(pieces);
    expect(asked).toEqual([
      {
        ref: { kind: 'account', accountId: 'acct-1' },
        generatedAt: '2026-12-07T10:00:00.000Z',
        parts: [
          { name: 'messages', records: 2, holds: true, retentionClasses: ['message_logs'] },
          { name: 'notify', records: 0, holds: false, retentionClasses: [] },
          { name: 'webhooks', records: 1, holds: false, retentionClasses: [] },
          { name: 'app', records: 1, holds: true, retentionClasses: [] },
        ],
      },
    ]);
    expect(doc.article15).toEqual(statement());
    expect(layout.map((l) => l.name)).toEqual([
      'messages.json',
      'notify.json',
      'webhooks.json',
      'app.json',
      'article15.json',
      'article15.html',
      'manifest.json',
    ]);
    // The zip's entries are the exact bytes the manifest hashes.
    expect(JSON.parse(entry('article15.json'))).toEqual(statement());
    expect(entry('article15.html')).toBe(doc.article15Html);
    expect(doc.manifest.article15).toEqual({
      sha256: sha(entry('article15.json')),
      htmlSha256: sha(entry('article15.html')),
    });
    const [jwk] = keys.publicKeys().keys;
    expect(verifySignature(signedManifestFields(doc.manifest), doc.manifest.signature, jwk!)).toBe(true);
    // The statement is covered: a changed hash no longer verifies.
    const forged = {
      ...doc.manifest,
      article15: { sha256: sha('{}'), htmlSha256: doc.manifest.article15!.htmlSha256 },
    };
    expect(verifySignature(signedManifestFields(forged), forged.signature, jwk!)).toBe(false);
    // The page escapes what it shows.
    expect(doc.article15Html).toContain('Host &#34;A&#34; &#60;b&#62;');
    expect(doc.article15Html).not.toContain('<b>');
  });

  it('is absent without a builder: the document and manifest keep their earlier shape', async () => {
    const { doc, layout } = await documentOf(
      bundlePieces('req-2', { kind: 'account', accountId: 'acct-1' }, [handler('messages', [1])], keys, now),
    );
    expect(Object.keys(doc)).toEqual(['parts', 'manifest']);
    expect('article15' in doc.manifest).toBe(false);
    expect(layout.map((l) => l.name)).toEqual(['messages.json', 'manifest.json']);
  });

  it("writes only the statement's own fields: nothing else a builder returns reaches the signed document, and a toJSON cannot change it", async () => {
    const extra = {
      ...statement(),
      secret: 'leak',
      toJSON: () => ({ forged: true }),
      recipients: [{ ...statement().recipients[0]!, internal: 'x' }],
    };
    const { doc } = await documentOf(
      bundlePieces(
        'req-4',
        { kind: 'account', accountId: 'acct-1' },
        [handler('messages', [1])],
        keys,
        now,
        () => extra as unknown as Article15,
      ),
    );
    expect(doc.article15).toEqual(statement());
  });

  it('fails the export (HF_DATA_RIGHTS_INVALID_OPTION) when the builder answers something else, never writing a broken statement', async () => {
    for (const bad of [
      null,
      {},
      { ...statement(), purposes: 'all' },
      { ...statement(), retention: [{ class: 'x', policyClause: 'y', periodDays: 1.5, parts: [] }] },
      { ...statement(), recipients: [{ ...statement().recipients[0]!, since: 7 }] },
      { ...statement(), sources: [null] },
    ]) {
      const pieces = bundlePieces(
        'req-3',
        { kind: 'account', accountId: 'acct-1' },
        [handler('messages', [1])],
        keys,
        now,
        () => bad as Article15,
      );
      await expect(documentOf(pieces)).rejects.toMatchObject({ code: 'HF_DATA_RIGHTS_INVALID_OPTION' });
    }
    expect(isArticle15(statement())).toBe(true);
    // A builder that throws fails the export the same way a failing handler does: nothing is stored.
    await expect(
      documentOf(
        bundlePieces('req-5', { kind: 'account', accountId: 'acct-1' }, [handler('messages', [1])], keys, now, () =>
          Promise.reject(new Error('registry down')),
        ),
      ),
    ).rejects.toThrow('registry down');
  });
});

describe('holdsData', () => {
  it('counts a value as held unless it is null or lists and objects of nothing', () => {
    for (const empty of [null, undefined, [], {}, { a: [] }, { a: null, b: { c: [] } }, [[], {}]])
      expect(holdsData(empty), JSON.stringify(empty)).toBe(false);
    for (const full of ['', 0, false, { a: 'x' }, [0], { a: { b: [1] } }, { a: { b: { c: { d: [] } } } }])
      expect(holdsData(full), JSON.stringify(full)).toBe(true);
  });
});

describe('article15Html', () => {
  it('is its own JSON string body and shows no markup from any value, whatever the values hold', () => {
    // Any code units, lone surrogates and NUL included (fast-check's 'binary' unit leaves out half pairs).
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({
        unit: fc.constantFrom(
          'a',
          '<',
          '>',
          '"',
          "'",
          '&',
          '\\',
          '\u0000',
          '\u001f',
          '\u2028',
          '\uD800',
          '\uDC00',
          '\uD83D',
          '\uDE00',
        ),
        maxLength: 30,
      }),
    );
    const item = fc.record({ key: text, text, parts: fc.array(text, { maxLength: 3 }) });
    const whole = fc.record({
      controller: fc.record({ name: text, contact: text }),
      purposes: fc.array(item, { maxLength: 2 }),
      categories: fc.array(item, { maxLength: 2 }),
      recipients: fc.array(
        fc.record({
          name: text,
          purpose: text,
          dataCategories: fc.array(text, { maxLength: 2 }),
          location: text,
          since: text,
          until: text,
        }),
        { maxLength: 2 },
      ),
      retention: fc.array(
        fc.record({
          class: text,
          policyClause: text,
          periodDays: fc.option(fc.nat()),
          parts: fc.array(text, { maxLength: 2 }),
        }),
        { maxLength: 2 },
      ),
      sources: fc.array(fc.record({ part: text, source: text }), { maxLength: 2 }),
      transfers: fc.array(fc.record({ recipient: text, location: text, safeguard: text }), { maxLength: 2 }),
      rights: fc.array(fc.record({ right: text, how: text }), { maxLength: 2 }),
      automatedDecisions: text,
    });
    fc.assert(
      fc.property(whole, (s) => {
        const html = article15Html(s as Article15, '2026-12-07T10:00:00.000Z');
        expect(JSON.stringify(html)).toBe(`"${html}"`);
        expect(html).not.toContain('<script');
        // Every value's < is a reference: the only tags are the page's own.
        const tags = new Set(html.match(/<\/?[a-z0-9!]+/gi));
        for (const tag of tags)
          expect([
            '<!doctype',
            '<html',
            '<head',
            '<meta',
            '<title',
            '</title',
            '</head',
            '<body',
            '<h1',
            '</h1',
            '<p',
            '</p',
            '<h2',
            '</h2',
            '<ul',
            '</ul',
            '<li',
            '</li',
            '<small',
            '</small',
            '<strong',
            '</strong',
            '</body',
            '</html',
          ]).toContain(tag);
        // Valid UTF-8 round trip (no lone surrogate survives).
        expect(Buffer.from(html).toString()).toBe(html);
      }),
      { numRuns: 500 },
    );
  });
});
