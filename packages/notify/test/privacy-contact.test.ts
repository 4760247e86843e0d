// Issue 30 item 12: messages signed off with privacy@harakaflow.com; the policy's address (§6, §8,
// §12) is privacy@harakaflow.io. Now the `privacyContact` option (the app's PRIVACY_CONTACT),
// defaulting to the policy's.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import notify, {
  DEFAULT_PRIVACY_CONTACT,
  notifyMigrations,
  type NotifyOptions,
  type OutgoingMessage,
} from '../src/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [notifyMigrations] });
});
afterAll(() => database.close());
beforeEach(() => database.truncate('notify'));

/** The plugin with a transport that keeps what it is given; sends one request notice and returns it. */
async function sendOne(options: Partial<NotifyOptions> = {}): Promise<OutgoingMessage> {
  const sent: OutgoingMessage[] = [];
  const app = Fastify();
  await app.register(notify, {
    db: database.db,
    from: 'HarakaFlow <no-reply@harakaflow.test>',
    publicUrl: 'https://api.harakaflow.test',
    unsubscribeSecrets: ['test-unsubscribe-secret-0123456789abcdef'],
    transport: {
      description: 'memory',
      send: async (m) => (sent.push(m), { outcome: 'sent' as const, providerMessageId: null, smtpCode: 250 }),
      close: () => {},
    },
    dispatch: false,
    ...options,
  });
  await app.ready();
  onTestFinished(() => app.close());
  await app.notify.enqueue({
    kind: 'privacy.request.updated',
    to: 'person@example.com',
    data: { kind: 'access', status: 'open', requestId: 'req-1', dueDate: '2027-01-06' },
  });
  while ((await app.notify.dispatch()) > 0);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

describe('the address messages sign off with', () => {
  it('is the policy’s by default', async () => {
    expect(DEFAULT_PRIVACY_CONTACT).toBe('privacy@harakaflow.io');
    const message = await sendOne();
    expect(message.text).toContain('HarakaFlow privacy team (privacy@harakaflow.io)');
    expect(message.html).toContain('privacy@harakaflow.io');
    expect(`${message.text}${message.html}`).not.toContain('harakaflow.com');
  });

  it('is the privacyContact option when given; a value that is not an address is refused at registration', async () => {
    const message = await sendOne({ privacyContact: 'dpo@example.test' });
    expect(message.text).toContain('HarakaFlow privacy team (dpo@example.test)');
    expect(message.text).not.toContain('privacy@harakaflow');
    await expect(sendOne({ privacyContact: 'not an address' })).rejects.toMatchObject({
      code: 'HF_NOTIFY_INVALID_OPTION',
    });
  });
});
