// Issue 30 item 10: a restriction could never be lifted (cancel and deny both answered 409 once it
// was in force). Now the account lifts its own, and an administrator lifts one with a reason; each
// lift removes the flag, is said in the request's history, audited and notified.
import dataRights, { dataRightsMigrations, type RightsRequest } from '@harakaflow/data-rights';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [dataRightsMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('data_rights'));

async function build() {
  const events: { action: string; details?: Record<string, unknown> }[] = [];
  const told: RightsRequest[] = [];
  const app = Fastify();
  app.decorate('audit', { record: async (e: { action: string }) => void events.push(e) });
  await app.register(dataRights, {
    db: database.db,
    signingKeys: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
    subjectKey: 'subject-key-0123456789abcdef0123456789',
    keyStore: { put: async () => undefined, get: async () => null, delete: async () => undefined },
    accountExists: async () => true,
    sweepIntervalMs: 0,
    onUpdate: async (request) => void told.push(request),
  });
  await app.ready();
  onTestFinished(() => app.close());
  return { app, events, told };
}

const restrict = (app: Awaited<ReturnType<typeof build>>['app'], accountId: string) =>
  app.dataRights.file({
    kind: 'restriction',
    subject: { kind: 'account', accountId },
    filedBy: 'self',
    verification: 'api-key',
  });

describe('lifting a restriction', () => {
  it('by the account itself: the flag goes, the history says so, audited and notified; a second lift is 409', async () => {
    const { app, events, told } = await build();
    const accountId = randomUUID();
    const r = await restrict(app, accountId);
    expect(r.status).toBe('fulfilled');
    expect(await app.dataRights.isRestricted(accountId)).toBe(true);

    const lifted = await app.dataRights.lift(r.id, 'self', { accountId });
    expect(lifted.status).toBe('fulfilled');
    expect(lifted.history.at(-1)).toMatchObject({ status: 'fulfilled', by: 'self', event: 'lifted' });
    expect(await app.dataRights.isRestricted(accountId)).toBe(false);
    expect(events.filter((e) => e.action === 'data_rights.restriction.lifted')).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ by: 'self' }) }),
    ]);
    expect(told.at(-1)).toMatchObject({
      id: r.id,
      history: expect.arrayContaining([expect.objectContaining({ event: 'lifted' })]),
    });

    await expect(app.dataRights.lift(r.id, 'self', { accountId })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_TRANSITION',
      statusCode: 409,
    });
    // Restricted again by a new request, then lifted again.
    const again = await restrict(app, accountId);
    expect(await app.dataRights.isRestricted(accountId)).toBe(true);
    await app.dataRights.lift(again.id, 'self', { accountId });
    expect(await app.dataRights.isRestricted(accountId)).toBe(false);
  });

  it('by an administrator with a reason, which the account is told; bad lifts are refused in the one shape', async () => {
    const { app, events, told } = await build();
    const accountId = randomUUID();
    const other = randomUUID();
    const r = await restrict(app, accountId);
    // Another account's request is not found; the admin must give a reason; only restrictions lift.
    await expect(app.dataRights.lift(r.id, 'self', { accountId: other })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_NOT_FOUND',
      statusCode: 404,
    });
    await expect(app.dataRights.lift(r.id, 'admin', { reason: '  ' })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
      statusCode: 400,
    });
    const objection = await app.dataRights.file({
      kind: 'objection',
      subject: { kind: 'account', accountId },
      filedBy: 'self',
      verification: 'api-key',
    });
    await expect(app.dataRights.lift(objection.id, 'admin', { reason: 'x' })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_REQUEST',
      statusCode: 400,
    });
    const emailed = await app.dataRights.file({
      kind: 'restriction',
      subject: { kind: 'account', accountId: other },
      filedBy: 'admin',
      verification: null,
    });
    await expect(app.dataRights.lift(emailed.id, 'admin', { reason: 'x' })).rejects.toMatchObject({
      code: 'HF_DATA_RIGHTS_INVALID_TRANSITION',
      statusCode: 409,
    });
    expect(await app.dataRights.isRestricted(accountId)).toBe(true);

    const lifted = await app.dataRights.lift(r.id, 'admin', { reason: 'the dispute that led to it is settled' });
    expect(lifted.history.at(-1)).toMatchObject({
      by: 'admin',
      event: 'lifted',
      note: 'the dispute that led to it is settled',
    });
    expect(await app.dataRights.isRestricted(accountId)).toBe(false);
    expect(events.find((e) => e.action === 'data_rights.restriction.lifted')?.details).toMatchObject({
      by: 'admin',
      reason: 'the dispute that led to it is settled',
    });
    expect(told.at(-1)?.history.at(-1)).toMatchObject({
      event: 'lifted',
      note: 'the dispute that led to it is settled',
    });
  });

  it('two lifts at once: one succeeds, the other is 409', async () => {
    const { app } = await build();
    const accountId = randomUUID();
    const r = await restrict(app, accountId);
    const results = await Promise.allSettled([
      app.dataRights.lift(r.id, 'self', { accountId }),
      app.dataRights.lift(r.id, 'admin', { reason: 'settled' }),
    ]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((x) => x.status === 'rejected')).toMatchObject({
      reason: { code: 'HF_DATA_RIGHTS_INVALID_TRANSITION' },
    });
    expect((await app.dataRights.get(r.id)).history.filter((h) => h.event === 'lifted')).toHaveLength(1);
  });
});
