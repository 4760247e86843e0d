import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { redisUrl } from './services.js';

export interface TestRedis {
  client: Redis;
  /** A key prefix unique to this test file: tests sharing one Redis never see each other's keys. */
  prefix: string;
  /** Deletes this file's keys and closes the connection. */
  close(): Promise<void>;
}

/** A Redis connection for one test file, or undefined when REDIS_URL is unset (the test skips). */
export async function testRedis(): Promise<TestRedis | undefined> {
  if (!redisUrl) return undefined;
  const { Redis } = await import('ioredis'); // loaded by the files that use Redis only
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  const prefix = `hf-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  return {
    client,
    prefix,
    async close() {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length) await client.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      client.disconnect();
    },
  };
}
