// Issue 33 item 1: the audit log's public keys at /.well-known (signed-note verifier keys and a JWK
// set), AUDIT_SIGNING_KEYS generated in development and optional in production for this release.
import { loadConfig, type AppConfig } from '@harakaflow/api';
import { AuditSigningKeys, checkpointBody, openCheckpoint, parseVerifierKeys } from '@harakaflow/audit';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_LOG_ORIGIN, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const SECRET = 'production-secret-with-enough-length-0123456789';
/** Every secret production requires, AUDIT_SIGNING_KEYS aside. */
const PRODUCTION = {
  NODE_ENV: 'production',
  ADMIN_API_KEY: SECRET,
  CONSENT_SECRETS: SECRET,
  AGE_GATE_SECRETS: SECRET,
  AUDIT_CHECKPOINT_KEYS: SECRET,
  VAULT_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
  DATA_RIGHTS_SIGNING_KEYS: `s1:${Buffer.alloc(32, 4).toString('base64')}`,
  DATA_RIGHTS_SUBJECT_KEY: SECRET,
  NOTIFY_UNSUBSCRIBE_SECRETS: SECRET,
  PUBLIC_URL: 'https://api.harakaflow.test',
  NOTIFY_TRANSPORT: 'eml',
};

describe('the well-known audit keys', () => {
  it('serve the same keys as verifier keys and as a JWK set; a note signed with config.auditSigningKeys verifies with either, parsed back', async () => {
    // A retired key listed after the signing one: both published.
    const keys = new AuditSigningKeys(
      `new:${Buffer.alloc(32, 1).toString('base64')},old:${Buffer.alloc(32, 2).toString('base64')}`,
      AUDIT_LOG_ORIGIN,
    );
    const { app } = await testApp(database, { auditSigningKeys: keys });
    try {
      const text = await app.inject('/.well-known/harakaflow-audit-keys.txt');
      expect(text.statusCode).toBe(200);
      expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(text.headers['cache-control']).toBe('public, max-age=3600');
      expect(text.body).toBe(`${keys.verifierKeys().join('\n')}\n`);
      const json = await app.inject('/.well-known/harakaflow-audit-keys.json');
      expect(json.statusCode).toBe(200);
      expect(json.headers['cache-control']).toBe('public, max-age=3600');
      expect(json.json()).toEqual(keys.jwks());

      const fromText = parseVerifierKeys(text.body);
      const fromJson = parseVerifierKeys(json.body);
      expect(fromText.map((v) => v.vkey)).toEqual(keys.verifierKeys());
      expect(fromJson.map((v) => v.vkey)).toEqual(keys.verifierKeys());
      const root = Buffer.alloc(32, 5);
      const note = keys.signNote(checkpointBody(AUDIT_LOG_ORIGIN, 1000, root));
      for (const verifiers of [fromText, fromJson])
        expect(openCheckpoint(note, verifiers)).toMatchObject({ origin: AUDIT_LOG_ORIGIN, size: 1000, root });
      // The retired key's checkpoints too, while it is listed.
      const old = new AuditSigningKeys(`old:${Buffer.alloc(32, 2).toString('base64')}`, AUDIT_LOG_ORIGIN);
      expect(openCheckpoint(old.signNote(checkpointBody(AUDIT_LOG_ORIGIN, 3, root)), fromText).size).toBe(3);
    } finally {
      await app.close();
    }
  });

  it('answer 404 HF_AUDIT_SIGNING_DISABLED in the one error shape when no keys are configured', async () => {
    const { app } = await testApp(database, { auditSigningKeys: null });
    try {
      for (const url of ['/.well-known/harakaflow-audit-keys.txt', '/.well-known/harakaflow-audit-keys.json']) {
        const response = await app.inject(url);
        expect(response.statusCode, url).toBe(404);
        expect(response.json()).toEqual({
          statusCode: 404,
          code: 'HF_AUDIT_SIGNING_DISABLED',
          error: 'Not Found',
          message: expect.stringContaining('AUDIT_SIGNING_KEYS'),
        });
      }
    } finally {
      await app.close();
    }
  });
});

describe('AUDIT_SIGNING_KEYS and AUDIT_LOG_ORIGIN', () => {
  it('are optional in production for this release: one startup warning with its code, no secret in it, no keys, nothing written', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-audit-keys-'));
    const warnings: [string, string | undefined][] = [];
    const config = loadConfig({ ...PRODUCTION, DATA_DIR: dataDir }, (message, code) => warnings.push([message, code]));
    expect(config.auditSigningKeys).toBeNull();
    expect(config.secrets.auditSigningKeys).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]![1]).toBe('HF_AUDIT_SIGNING_KEYS_UNSET');
    expect(warnings[0]![0]).toMatch(
      /^AUDIT_SIGNING_KEYS is not set: audit checkpoints are HMAC-only.*\(HF_AUDIT_SIGNING_KEYS_UNSET\)$/,
    );
    for (const value of Object.values(PRODUCTION)) if (value.length >= 32) expect(warnings[0]![0]).not.toContain(value);
    expect(() => readFileSync(join(dataDir, 'secrets.json'))).toThrow(/ENOENT/);
  });

  it("sign in production when given, under AUDIT_LOG_ORIGIN or PUBLIC_URL's host", () => {
    const seed = Buffer.alloc(32, 6).toString('base64');
    const warnings: string[] = [];
    const given = loadConfig(
      { ...PRODUCTION, AUDIT_SIGNING_KEYS: `k1:${seed}`, AUDIT_LOG_ORIGIN: 'log.harakaflow.test/audit' },
      (m) => warnings.push(m),
    );
    expect(warnings).toEqual([]);
    expect(given.auditLogOrigin).toBe('log.harakaflow.test/audit');
    expect(given.auditSigningKeys?.verifierKeys()[0]).toMatch(/^log\.harakaflow\.test\/audit\+[0-9a-f]{8}\+/);
    expect(loadConfig({ ...PRODUCTION, AUDIT_SIGNING_KEYS: `k1:${seed}` }).auditLogOrigin).toBe(
      'api.harakaflow.test/audit',
    );
  });

  it('are generated in development, kept in DATA_DIR/secrets.json, and the origin follows the listen address', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hf-audit-keys-'));
    const first: AppConfig = loadConfig({ DATA_DIR: dataDir });
    expect(first.auditLogOrigin).toBe('127.0.0.1:3000/audit');
    expect(first.auditSigningKeys?.ids[0]).toMatch(/^dev-\d{4}-\d{2}-\d{2}$/);
    const stored = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(stored.AUDIT_SIGNING_KEYS).toBe(first.secrets.auditSigningKeys);
    expect(loadConfig({ DATA_DIR: dataDir }).auditSigningKeys?.verifierKeys()).toEqual(
      first.auditSigningKeys?.verifierKeys(),
    );
  });

  it('refuse a bad key list or origin, naming the variable and never the key', () => {
    const seed = Buffer.alloc(32, 6).toString('base64');
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...PRODUCTION, ...env });
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems;
      }
    };
    expect(problems({ AUDIT_SIGNING_KEYS: `k1:${seed},k1:${seed}` })).toEqual([
      'AUDIT_SIGNING_KEYS is invalid: names key "k1" twice',
    ]);
    expect(problems({ AUDIT_SIGNING_KEYS: `k1:${seed.slice(0, 20)}` })).toEqual([
      'AUDIT_SIGNING_KEYS is invalid: key "k1" is not 32 bytes of base64',
    ]);
    expect(problems({ AUDIT_SIGNING_KEYS: `k1:${seed}`, AUDIT_LOG_ORIGIN: 'two words' })).toEqual([
      expect.stringMatching(/^AUDIT_LOG_ORIGIN must be a signed-note key name/),
    ]);
    expect(problems({ AUDIT_LOG_ORIGIN: 'a+b' })).toEqual([expect.stringMatching(/^AUDIT_LOG_ORIGIN /)]);
  });
});
