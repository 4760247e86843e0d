// Issue 33 item 1: checkpoints as C2SP signed notes (tlog-checkpoint), checked against
// golang.org/x/mod/sumdb/note's vectors and the signed-note spec's example.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AuditKeysError,
  AuditNoteError,
  AuditSigningKeys,
  checkpointBody,
  generateAuditSigningKey,
  loadVerifierKeys,
  openCheckpoint,
  openNote,
  parseVerifierKeys,
  type NoteVerifier,
} from '../src/index.js';
import { MAX_KEY_FILE_BYTES } from '../src/cli-keys.js';
import { noteKeyId, parseVerifierKey } from '../src/note.js';

// golang.org/x/mod sumdb/note/note_test.go (TestSign, TestOpen).
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
// c2sp.org/signed-note's example key and note (as quoted by the spec's test suites).
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

/** The seed of a Go private key, `PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)`. */
const goSeed = (skey: string) =>
  Buffer.from(skey.split('+').slice(4).join('+'), 'base64').subarray(1).toString('base64');

const ORIGIN = 'audit.harakaflow.test/audit';
const seed = (n: number) => Buffer.alloc(32, n).toString('base64');
const ROOT = Buffer.alloc(32, 7);

function reasonOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AuditNoteError);
    expect((error as AuditNoteError).code).toBe('HF_AUDIT_NOTE_INVALID');
    return (error as AuditNoteError).reason;
  }
  return 'accepted';
}

describe('the golang.org/x/mod/sumdb/note vectors', () => {
  it("signs PeterNeumann's note byte for byte, under the same key ID", () => {
    const keys = new AuditSigningKeys(`peter:${goSeed(PETER_SKEY)}`, 'PeterNeumann');
    expect(keys.verifierKeys()).toEqual([PETER_VKEY]);
    expect(keys.signNote(GO_TEXT)).toBe(`${GO_TEXT}\n${PETER_SIG}`);
  });

  it("opens Go's notes: one key known, both known, none known", () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const enoch = parseVerifierKey(ENOCH_VKEY);
    expect(peter.keyId).toBe(0xc74f20a3);
    const note = `${GO_TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
    expect(openNote(note, [peter])).toEqual({
      text: GO_TEXT,
      signers: [{ keyName: 'PeterNeumann', keyId: 'c74f20a3' }],
    });
    expect(openNote(note, [peter, enoch]).signers.map((s) => s.keyId)).toEqual(['c74f20a3', 'af0cfe78']);
    expect(reasonOf(() => openNote(note, []))).toBe('unknown-key');
    // TestOpen's invalid signature and bad messages.
    expect(reasonOf(() => openNote(`${GO_TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, [peter]))).toBe(
      'bad-signature',
    );
    expect(reasonOf(() => openNote(`${GO_TEXT}\n${PETER_SIG.repeat(101)}`, [peter]))).toBe('malformed');
    for (const bad of [
      `${GO_TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\u0001${GO_TEXT}\n${PETER_SIG}`,
      `${GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${GO_TEXT}\n${PETER_SIG}Unexpected line.\n`,
    ])
      expect(
        reasonOf(() => openNote(bad, [peter])),
        bad,
      ).toBe('malformed');
    expect(
      reasonOf(() => openNote(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${GO_TEXT}\n${PETER_SIG}`)]), [peter])),
    ).toBe('malformed');
    expect(reasonOf(() => openNote(GO_TEXT, [peter]))).toBe('unsigned');
    expect(reasonOf(() => openNote(`${GO_TEXT}\n`, [peter]))).toBe('unsigned');
  });

  it("opens the signed-note spec's example", () => {
    expect(openNote(SPEC_NOTE, [parseVerifierKey(SPEC_VKEY)]).signers).toEqual([
      { keyName: 'example.com/foo', keyId: '530d903a' },
    ]);
  });

  it('refuses every mangled verifier key (TestNewVerifier)', () => {
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const changed =
        PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      expect(() => parseVerifierKey(changed), changed).toThrow(AuditKeysError);
      expect(() => parseVerifierKey(PETER_VKEY.slice(0, i)), PETER_VKEY.slice(0, i)).toThrow(AuditKeysError);
    }
    expect(() =>
      parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
    ).toThrow(AuditKeysError);
    expect(() => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(
      AuditKeysError,
    );
  });
});

describe('AuditSigningKeys', () => {
  const keys = new AuditSigningKeys(`new:${seed(2)},old:${seed(1)}`, ORIGIN);

  it('signs a checkpoint that opens with its own verifiers', () => {
    const note = keys.signNote(checkpointBody(ORIGIN, 42, ROOT, ['ext one']));
    expect(note).toMatch(
      new RegExp(
        `^${ORIGIN}\n42\n${ROOT.toString('base64').replace(/[+/]/g, '\\$&')}\next one\n\n— ${ORIGIN} [A-Za-z0-9+/]{91}=\n$`,
      ),
    );
    expect(openCheckpoint(note, keys.verifiers())).toEqual({
      origin: ORIGIN,
      size: 42,
      root: ROOT,
      extensions: ['ext one'],
      keyName: ORIGIN,
      keyId: keys.verifierKeys()[0]!.split('+')[1],
    });
    expect(openCheckpoint(keys.signNote(checkpointBody(ORIGIN, 0, ROOT)), keys.verifiers()).size).toBe(0);
  });

  it('gives each key a vkey whose key ID is SHA-256(name, 0x0A, 0x01, key)[:4], and a JWK set of the same keys', () => {
    const vkeys = keys.verifierKeys();
    const { keys: jwks } = keys.jwks();
    expect(jwks.map((k) => k.kid)).toEqual(['new', 'old']);
    expect(jwks.map((k) => k.vkey)).toEqual(vkeys);
    for (const [i, jwk] of jwks.entries()) {
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA' });
      expect(vkeys[i]).toBe(
        `${ORIGIN}+${noteKeyId(ORIGIN, Buffer.from(jwk.x, 'base64url')).toString(16).padStart(8, '0')}+${Buffer.concat([Buffer.from([1]), Buffer.from(jwk.x, 'base64url')]).toString('base64')}`,
      );
    }
    const fromText = parseVerifierKeys(`# audit keys\n\n${vkeys.join('\n')}\n`);
    const fromJson = parseVerifierKeys(JSON.stringify(keys.jwks()));
    expect(fromText.map((v) => v.vkey)).toEqual(vkeys);
    expect(fromJson.map((v) => v.vkey)).toEqual(vkeys);
    const note = keys.signNote(checkpointBody(ORIGIN, 7, ROOT));
    expect(openCheckpoint(note, fromJson).size).toBe(7);
    expect(openCheckpoint(note, fromText).size).toBe(7);
  });

  it("rotates: an old key's checkpoints verify while it is listed, not once it is removed", () => {
    const before = new AuditSigningKeys(`old:${seed(1)}`, ORIGIN);
    const oldNote = before.signNote(checkpointBody(ORIGIN, 5, ROOT));
    expect(openCheckpoint(oldNote, keys.verifiers()).keyId).toBe(before.verifierKeys()[0]!.split('+')[1]);
    const after = new AuditSigningKeys(`new:${seed(2)}`, ORIGIN);
    expect(reasonOf(() => openCheckpoint(oldNote, after.verifiers()))).toBe('unknown-key');
    expect(openCheckpoint(after.signNote(checkpointBody(ORIGIN, 6, ROOT)), keys.verifiers()).size).toBe(6);
  });

  it("refuses tampered bodies, signatures and key IDs, another log's keys and another origin", () => {
    const note = keys.signNote(checkpointBody(ORIGIN, 42, ROOT));
    const verifiers = keys.verifiers();
    expect(reasonOf(() => openCheckpoint(note.replace('\n42\n', '\n43\n'), verifiers))).toBe('bad-signature');
    const line = note.slice(note.indexOf('— '));
    const bytes = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
    const withBytes = (b: Buffer) => note.replace(line, `— ${ORIGIN} ${b.toString('base64')}\n`);
    const flipped = Buffer.from(bytes);
    flipped[10]! ^= 1;
    expect(reasonOf(() => openCheckpoint(withBytes(flipped), verifiers))).toBe('bad-signature');
    const otherId = Buffer.from(bytes);
    otherId[0]! ^= 1;
    expect(reasonOf(() => openCheckpoint(withBytes(otherId), verifiers))).toBe('unknown-key');
    expect(reasonOf(() => openCheckpoint(withBytes(bytes.subarray(0, 40)), verifiers))).toBe('bad-signature');
    // Another log's key, and a note whose origin is not the signing key's name.
    const other = new AuditSigningKeys(`x:${seed(9)}`, 'other.test/log');
    expect(reasonOf(() => openCheckpoint(note, other.verifiers()))).toBe('unknown-key');
    expect(reasonOf(() => openCheckpoint(other.signNote(checkpointBody(ORIGIN, 1, ROOT)), other.verifiers()))).toBe(
      'origin-mismatch',
    );
    // A witness's cosignature (an unknown key) is ignored beside the log's own.
    const cosigned = note + other.signNote(checkpointBody(ORIGIN, 42, ROOT)).split('\n\n')[1]!;
    expect(openCheckpoint(cosigned, verifiers).size).toBe(42);
    expect(openCheckpoint(cosigned, [...verifiers, ...other.verifiers()]).size).toBe(42);
  });

  it('parses checkpoints strictly', () => {
    const sign = (body: string) => keys.signNote(body);
    const v = keys.verifiers();
    const root = ROOT.toString('base64');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n042\n${root}\n`), v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n+42\n${root}\n`), v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n99999999999999999999\n${root}\n`), v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n42\n${Buffer.alloc(31).toString('base64')}\n`), v))).toBe(
      'malformed',
    );
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n42\n${root.replace(/=$/, '')}\n`), v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n42\n`), v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n42\n${root}\n\next\n`), v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(sign(`${ORIGIN}\n42\n${root}\n`).replace(/\n/g, '\r\n'), v))).toBe(
      'malformed',
    );
    expect(reasonOf(() => openCheckpoint(checkpointBody(ORIGIN, 42, ROOT), v))).toBe('unsigned');
    expect(reasonOf(() => openCheckpoint('x'.repeat(1 << 20) + '\n', v))).toBe('malformed');
    expect(reasonOf(() => openCheckpoint(42 as unknown as string, v))).toBe('malformed');
    expect(
      reasonOf(() => openCheckpoint(sign(checkpointBody(ORIGIN, 1, ROOT)), null as unknown as NoteVerifier[])),
    ).toBe('unknown-key');
  });

  it('refuses bad key lists and origins, naming the entry and never the seed', () => {
    const cases: [string, RegExp][] = [
      ['', /AUDIT_SIGNING_KEYS is empty/],
      [`k1:${seed(1)},k2`, /key "k2" is not 32 bytes/],
      [`k1:${seed(1)},`, /entry 2 is not id:base64-seed/],
      [`k1:${seed(1)},k1:${seed(2)}`, /names key "k1" twice/],
      ['k1:c2hvcnQ=', /key "k1" is not 32 bytes/],
      [`bad id:${seed(1)}`, /entry 1 is not/],
    ];
    for (const [text, message] of cases) {
      const error = (() => {
        try {
          new AuditSigningKeys(text, ORIGIN);
        } catch (e) {
          return e as AuditKeysError;
        }
      })();
      expect(error).toBeInstanceOf(AuditKeysError);
      expect(error!.code).toBe('HF_AUDIT_INVALID_KEYS');
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain(seed(1));
    }
    for (const origin of ['', 'has space', 'a+b', 'line\nbreak', 'nbsp\u00a0x', 'tab\tx'])
      expect(() => new AuditSigningKeys(`k:${seed(1)}`, origin), origin).toThrow(AuditKeysError);
    expect(generateAuditSigningKey('k-2026')).toMatch(/^k-2026:[A-Za-z0-9+/]{43}=$/);
    expect(() => new AuditSigningKeys(generateAuditSigningKey('k-2026'), ORIGIN)).not.toThrow();
  });

  it('refuses bad verifier key files with HF_AUDIT_INVALID_KEYS, naming the line or key', () => {
    const vkey = keys.verifierKeys()[0]!;
    expect(() => parseVerifierKeys('')).toThrow(/no verifier key/);
    expect(() => parseVerifierKeys(`${vkey}\nnot a key\n`)).toThrow(/line 2/);
    expect(() => parseVerifierKeys('{"keys": 3}')).toThrow(/"keys" array/);
    expect(() => parseVerifierKeys('{nope')).toThrow(/not valid JSON/);
    const [first, second] = keys.jwks().keys;
    expect(() => parseVerifierKeys(JSON.stringify({ keys: [{ ...first, vkey: undefined }] }))).toThrow(
      /key 1 .*no "vkey"/,
    );
    expect(() => parseVerifierKeys(JSON.stringify({ keys: [first, { ...second, vkey: first!.vkey }] }))).toThrow(
      /key 2 .*another key/,
    );
    expect(() => parseVerifierKeys(JSON.stringify({ keys: [{ ...first, kty: 'RSA' }] }))).toThrow(AuditKeysError);
  });

  it('loads --public-key files, refusing missing, oversized and non-UTF-8 ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-audit-keys-'));
    const file = (name: string, content: string | Buffer) => (writeFileSync(join(dir, name), content), join(dir, name));
    expect(loadVerifierKeys(file('keys.txt', `${keys.verifierKeys().join('\n')}\n`)).map((v) => v.vkey)).toEqual(
      keys.verifierKeys(),
    );
    expect(loadVerifierKeys(file('keys.json', JSON.stringify(keys.jwks()))).map((v) => v.vkey)).toEqual(
      keys.verifierKeys(),
    );
    expect(() => loadVerifierKeys(join(dir, 'missing.txt'))).toThrow(/missing\.txt cannot be read \(ENOENT\)/);
    expect(() => loadVerifierKeys(dir)).toThrow(/is not a file/);
    expect(() => loadVerifierKeys(file('big.txt', '#'.repeat(MAX_KEY_FILE_BYTES + 1)))).toThrow(/is over 256 kB/);
    expect(() => loadVerifierKeys(file('latin1.txt', Buffer.from([0xff, 0x0a])))).toThrow(/not UTF-8/);
    expect(() => loadVerifierKeys(file('bad.txt', 'nope\n'))).toThrow(/bad\.txt: line 1/);
  });
});

describe('openCheckpoint under fuzzing', () => {
  const keys = new AuditSigningKeys(`k:${seed(3)}`, ORIGIN);
  const verifiers = keys.verifiers();
  const note = keys.signNote(checkpointBody(ORIGIN, 1234, ROOT, ['x']));
  const pieces = fc.constantFrom(
    '\n',
    '\n\n',
    '— ',
    ' ',
    '+',
    '=',
    '/',
    'A',
    '0',
    '9',
    '\r',
    '\u0000',
    '\ud800',
    '\u2014',
    ORIGIN,
    'é',
  );

  it('throws nothing but AuditNoteError on any input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: pieces }), fc.uint8Array(), fc.anything()),
        (input) => {
          try {
            openCheckpoint(input as string, verifiers);
          } catch (error) {
            if (!(error instanceof AuditNoteError)) throw error;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never accepts a note with one character changed, inserted or removed', () => {
    const edit = fc.tuple(
      fc.nat({ max: note.length }),
      fc.constantFrom('replace', 'insert', 'delete'),
      fc.oneof(pieces, fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })),
    );
    fc.assert(
      fc.property(edit, ([at, how, piece]) => {
        const changed =
          how === 'delete'
            ? note.slice(0, at) + note.slice(at + 1)
            : note.slice(0, at) + piece + note.slice(how === 'replace' ? at + 1 : at);
        if (changed === note) return;
        expect(reasonOf(() => openCheckpoint(changed, verifiers))).not.toBe('accepted');
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips any checkpoint', () => {
    // eslint-disable-next-line no-control-regex -- extension lines have none
    const line = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[\u0000-\u001f]|[\ud800-\udfff]/.test(s));
    fc.assert(
      fc.property(
        fc.nat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (size, root, extensions) => {
          const opened = openCheckpoint(keys.signNote(checkpointBody(ORIGIN, size, root, extensions)), verifiers);
          expect(opened).toMatchObject({ origin: ORIGIN, size, extensions });
          expect(opened.root.equals(Buffer.from(root))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
