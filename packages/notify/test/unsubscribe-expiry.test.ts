// Issue 30 item 12: one-click unsubscribe links never expired: a link in a message years old still
// turned the account's notices off. Now a link works for 90 days from the message; links sent
// before links carried a date work until LEGACY_UNSUBSCRIBE_LINKS_UNTIL (90 days from the release).
import { prepareKeys, sealValue } from '@harakaflow/core';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import notify, { LEGACY_UNSUBSCRIBE_LINKS_UNTIL, notifyMigrations, UNSUBSCRIBE_LINK_DAYS } from '../src/index.js';

const SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const DAY = 86_400_000;

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('notify'));

/** The plugin with a clock the test moves. */
async function build(start: number) {
  const clock = { now: start };
  const app = Fastify();
  await app.register(notify, {
    db: database.db,
    from: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    unsubscribeSecrets: [SECRET],
    transport: {
      description: 'null',
      send: async () => ({ outcome: 'sent' as const, providerMessageId: null, smtpCode: 250 }),
      close: () => {},
    },
    dispatch: false,
    now: () => clock.now,
  });
  await app.ready();
  onTestFinished(() => app.close());
  const post = (token: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/notifications/unsubscribe?token=${token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
  return { app, clock, post };
}

const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

describe('unsubscribe links expire', () => {
  it('work for 90 days from the message, then answer 400 HF_NOTIFY_UNSUBSCRIBE_INVALID and change nothing', async () => {
    const sent = Date.parse('2027-06-01T10:00:00Z');
    const { app, clock, post } = await build(sent);
    const account = randomUUID();
    const token = tokenOf(app.notify.unsubscribeUrl(account, 'quota.warning'));

    clock.now = sent + UNSUBSCRIBE_LINK_DAYS * DAY + 1000;
    const late = await post(token);
    expect(late.statusCode).toBe(400);
    expect(late.json()).toMatchObject({ code: 'HF_NOTIFY_UNSUBSCRIBE_INVALID' });
    expect(await app.notify.preferences(account)).toEqual({ 'quota.warning': true });

    clock.now = sent + UNSUBSCRIBE_LINK_DAYS * DAY - 1000;
    expect((await post(token)).json()).toEqual({ unsubscribed: true, kind: 'quota.warning' });
    expect(await app.notify.preferences(account)).toEqual({ 'quota.warning': false });
  });

  it('accept a link sent before links were dated until the fixed cutoff, 90 days from this release, and not after', async () => {
    expect(new Date(LEGACY_UNSUBSCRIBE_LINKS_UNTIL).toISOString()).toBe('2027-03-07T00:00:00.000Z');
    const account = randomUUID();
    // What the previous version signed: [accountId, kind], no date.
    const legacy = sealValue(
      'hf-unsubscribe',
      Buffer.from(JSON.stringify([account, 'quota.warning'])).toString('base64url'),
      prepareKeys([SECRET])[0]!,
    );

    const after = await build(LEGACY_UNSUBSCRIBE_LINKS_UNTIL);
    expect((await after.post(legacy)).json()).toMatchObject({ statusCode: 400, code: 'HF_NOTIFY_UNSUBSCRIBE_INVALID' });
    expect(await after.app.notify.preferences(account)).toEqual({ 'quota.warning': true });

    const before = await build(LEGACY_UNSUBSCRIBE_LINKS_UNTIL - 1000);
    expect((await before.post(legacy)).json()).toEqual({ unsubscribed: true, kind: 'quota.warning' });
  });

  it('refuse a date that is not a whole number of seconds, even signed', async () => {
    const { post } = await build(Date.parse('2027-01-01T00:00:00Z'));
    const key = prepareKeys([SECRET])[0]!;
    for (const expires of ['9999999999', 1e300, null, 9_999_999_999.5]) {
      const token = sealValue(
        'hf-unsubscribe',
        Buffer.from(JSON.stringify([randomUUID(), 'quota.warning', expires])).toString('base64url'),
        key,
      );
      expect((await post(token)).statusCode, String(expires)).toBe(400);
    }
  });
});
