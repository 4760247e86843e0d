// What the delivery tests share: a database with the package's tables, emptied before each test,
// and a receiver answering 204 (its requests forgotten before each test).
import { startReceiver, testDatabase, type Receiver, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { webhooksMigrations } from '../src/index.js';

export interface DeliveryFixture {
  readonly db: TestDatabase;
  readonly receiver: Receiver;
}

/** Registers this file's hooks; read `db` and `receiver` inside tests (set by beforeAll). */
export function deliveryFixture(): DeliveryFixture {
  const f = {} as { db: TestDatabase; receiver: Receiver };
  beforeAll(async () => {
    f.db = await testDatabase({ migrations: [webhooksMigrations] });
    f.receiver = await startReceiver();
  });
  afterAll(async () => {
    f.receiver?.close();
    await f.db?.close();
  });
  beforeEach(async () => {
    f.receiver.received.length = 0;
    f.receiver.answer(204);
    await f.db.truncate('webhooks');
  });
  return f;
}
