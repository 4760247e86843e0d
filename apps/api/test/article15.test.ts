// Issue 32 item 5: every export states what Article 15 GDPR requires beside the data, from the
// app's registries: the retention registry's classes of the parts that hold records, the processor
// register in force, the policy's purposes and categories, the sources and the rights.
import { personalDataHandlers, retentionClasses, type SubjectKind } from '@harakaflow/core';
import { holdsData } from '@harakaflow/data-rights/internals';
import { signedManifestFields, verifySignature, type Article15, type Manifest } from '@harakaflow/data-rights';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES, HANDLER_DATA, PURPOSES } from '../src/privacy/article15.js';
import { SUBPROCESSORS } from '../src/privacy/subprocessors.js';
import { signup, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

describe('the Article 15 statement of an export', () => {
  it('lists the retention of the classes that hold the person’s data, the register in force, the purposes, sources and rights; the manifest covers it; the zip has its page', async () => {
    const { app } = await testApp(database, { retentionMessageLogDays: { free: 60, pro: 180, business: 365 } });
    try {
      const { account, apiKey } = await signup(app);
      const auth = { authorization: `Bearer ${apiKey}` };
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/messages',
            headers: auth,
            payload: { sessionId: 'wa-1', to: '+254711000001', text: 'hello' },
          })
        ).statusCode,
      ).toBe(202);
      const exportOf = async () => {
        const filed = (
          await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: auth, payload: { kind: 'access' } })
        ).json();
        return (await app.inject({ url: `/v1/privacy/requests/${filed.id}`, headers: auth })).json().export
          .url as string;
      };
      const download = await app.inject({
        method: 'POST',
        url: await exportOf(),
        headers: { accept: 'application/json' },
      });
      expect(download.statusCode).toBe(200);
      const doc = download.json() as {
        parts: Record<string, unknown>;
        article15: Article15;
        article15Html: string;
        manifest: Manifest;
      };
      const s = doc.article15;
      const held = doc.manifest.parts.map((p) => p.name).filter((name) => holdsData(doc.parts[name]));
      expect(held).toEqual(expect.arrayContaining(['app', 'messages', 'audit']));
      // No webhook endpoint was registered: that part holds nothing and the statement does not speak of it.
      expect(held).not.toContain('webhooks');

      // Retention from the registry: the configured period, the class's own policy clause, only classes of parts with records.
      const registry = new Map(retentionClasses(app).map((c) => [c.name, c]));
      const byClass = new Map(s.retention.map((r) => [r.class, r]));
      expect(byClass.get('message_logs')).toEqual({
        class: 'message_logs',
        policyClause: registry.get('message_logs')!.policyClause,
        periodDays: 60,
        parts: ['messages'],
      });
      expect(byClass.get('server_logs')).toMatchObject({ periodDays: 90, parts: ['audit'] });
      // Kept until the account is deleted (then purged within the purge delay): no number of days that would read as a lifetime.
      expect(byClass.get('deleted_accounts')).toMatchObject({
        periodDays: null,
        parts: expect.arrayContaining(['app', 'age_gate']),
      });
      for (const r of s.retention)
        expect(
          r.parts.every((p) => held.includes(p)),
          r.class,
        ).toBe(true);
      // Every part that holds data says how long it is kept, under a class the registry knows.
      for (const part of held)
        expect(
          s.retention.some((r) => r.parts.includes(part)),
          part,
        ).toBe(true);
      for (const r of s.retention) expect(registry.has(r.class), r.class).toBe(true);
      expect(s.retention.some((r) => r.class === 'webhook_deliveries')).toBe(false);

      // Recipients and transfers: the register (those that have received or will receive data), with each transfer's safeguard.
      expect(s.recipients.map((r) => r.name)).toEqual(SUBPROCESSORS.map((p) => p.name));
      expect(s.transfers.map((t) => t.recipient)).toEqual(
        SUBPROCESSORS.filter((p) => p.transfer.mechanism !== 'none').map((p) => p.name),
      );
      expect(s.transfers.find((t) => t.recipient.startsWith('Meta'))!.safeguard).toMatch(/Data Privacy Framework/);

      // Purposes and categories: the policy's words, each naming the parts it applies to.
      expect(s.purposes.find((p) => p.key === 'service')).toMatchObject({
        text: PURPOSES.service,
        parts: expect.arrayContaining(['app', 'messages']),
      });
      expect(s.categories.find((c) => c.key === 'technical')).toMatchObject({
        text: CATEGORIES.technical,
        parts: expect.arrayContaining(['audit']),
      });
      expect(s.sources.map((x) => x.part)).toEqual(held);
      expect(s.rights.map((r) => r.right)).toEqual([
        'Access',
        'Correction',
        'Deletion',
        'Portability',
        'Restriction',
        'Objection',
        'Withdraw consent',
        'Complaint',
      ]);
      expect(s.controller.contact).toBe('privacy@harakaflow.io');
      expect(JSON.stringify(s)).not.toContain(account.email);

      // Signed: the manifest's hashes are of the section and the page as the document holds them.
      const keys = (await app.inject('/.well-known/harakaflow-signing-keys.json')).json().keys;
      expect(verifySignature(signedManifestFields(doc.manifest), doc.manifest.signature, keys[0])).toBe(true);
      const body = download.body;
      const section = body.slice(
        body.indexOf('"article15":') + '"article15":'.length,
        body.indexOf(',"article15Html":'),
      );
      expect(doc.manifest.article15).toEqual({
        sha256: createHash('sha256').update(section).digest('hex'),
        htmlSha256: createHash('sha256').update(doc.article15Html).digest('hex'),
      });

      // A pro account's message logs: the pro plan's period (180 days here), not the free plan's.
      await database.db.execute(sql`update app.accounts set plan = 'pro' where id = ${account.id}::uuid`);
      const pro = (
        await app.inject({ method: 'POST', url: await exportOf(), headers: { accept: 'application/json' } })
      ).json() as { article15: Article15 };
      expect(pro.article15.retention.find((r) => r.class === 'message_logs')!.periodDays).toBe(180);

      // The zip carries the page as article15.html, the same bytes.
      const zip = await app.inject({ method: 'POST', url: await exportOf(), headers: { accept: 'application/zip' } });
      expect(zip.statusCode).toBe(200);
      expect(zip.rawPayload.includes(Buffer.from('article15.html'))).toBe(true);
      expect(zip.rawPayload.includes(Buffer.from('<h2>How long each is kept</h2>'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('describes every personal-data handler the app registers, and no other', async () => {
    const { app } = await testApp(database);
    try {
      const kinds: SubjectKind[] = ['account', 'contact', 'email'];
      const registered = new Set(kinds.flatMap((k) => personalDataHandlers(app, k).map((h) => h.name)));
      expect([...registered].sort()).toEqual(Object.keys(HANDLER_DATA).sort());
      for (const [name, data] of Object.entries(HANDLER_DATA)) {
        expect(
          data.categories.every((c) => c in CATEGORIES),
          name,
        ).toBe(true);
        expect(
          data.purposes.every((p) => p in PURPOSES),
          name,
        ).toBe(true);
        // A class the app names for a handler exists in the registry.
        for (const c of data.retentionClasses ?? []) expect(retentionClasses(app).map((r) => r.name)).toContain(c);
      }
    } finally {
      await app.close();
    }
  });
});
