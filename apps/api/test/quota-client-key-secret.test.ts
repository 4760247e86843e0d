// Issue 35 item 5: quota's client-key secret is its own setting (QUOTA_CLIENT_KEY_SECRET), with a
// rolling path from the key earlier releases derived from DATA_RIGHTS_SUBJECT_KEY
// (QUOTA_CLIENT_KEY_ROLLING): while replicas differ, each honours the other's bans.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { problemsOf, testApp, testConfig } from './helpers.js';

const redisUrl = process.env.REDIS_URL;
const SECRET = 'test-quota-client-key-secret-0123456789abcdef';
const OLDER = 'test-quota-client-key-older-0123456789abcdefgh';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database?.close();
});

// Each test its own IPs (by pid and a counter) in one key prefix, removed at the end.
let nextIp = 1;
const freshIp = () => `203.0.113.${(process.pid % 100) + nextIp++}`;

/** Whether `app` refuses `ip` as banned, waiting for the shared store's bans (read on each flush). */
async function banned(app: FastifyInstance, ip: string): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const answer = await app.inject({ url: '/v1/ping', remoteAddress: ip });
    if (answer.statusCode !== 200) {
      expect(answer.json()).toMatchObject({ code: 'HF_QUOTA_BANNED' });
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

const KEY = 'production-secret-with-enough-length-0123456789';
const PRODUCTION = {
  NODE_ENV: 'production',
  ADMIN_API_KEY: KEY,
  CONSENT_SECRETS: KEY,
  AGE_GATE_SECRETS: KEY,
  AUDIT_CHECKPOINT_KEYS: KEY,
  VAULT_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}`,
  DATA_RIGHTS_SIGNING_KEYS: `s1:${Buffer.alloc(32, 4).toString('base64')}`,
  DATA_RIGHTS_SUBJECT_KEY: KEY,
  NOTIFY_UNSUBSCRIBE_SECRETS: KEY,
  PUBLIC_URL: 'https://api.harakaflow.test',
  NOTIFY_TRANSPORT: 'eml',
};

describe('QUOTA_CLIENT_KEY_SECRET in the configuration', () => {
  it('is optional in production: unset, the key stays derived and nothing is said about it', () => {
    const warnings: string[] = [];
    const config = loadConfig(PRODUCTION, (m) => warnings.push(m));
    expect(config.secrets.quotaClientKeySecret).toBeUndefined();
    expect(config.quotaClientKeyRolling).toBe(false);
    expect(warnings.join('\n')).not.toContain('QUOTA_CLIENT_KEY');
  });

  it('is read as a list in production, and QUOTA_CLIENT_KEY_ROLLING as a flag', () => {
    const config = loadConfig({
      ...PRODUCTION,
      QUOTA_CLIENT_KEY_SECRET: `${SECRET},${OLDER}`,
      QUOTA_CLIENT_KEY_ROLLING: '1',
    });
    expect(config.secrets.quotaClientKeySecret).toBe(`${SECRET},${OLDER}`);
    expect(config.quotaClientKeyRolling).toBe(true);
  });

  it('refuses a short secret and a rolling flag that is not 0 or 1, naming the variable, never the value', () => {
    const problems = problemsOf({ QUOTA_CLIENT_KEY_SECRET: 'short-secret', QUOTA_CLIENT_KEY_ROLLING: 'yes' });
    expect(problems.join('\n')).toMatch(/QUOTA_CLIENT_KEY_SECRET/);
    expect(problems.join('\n')).toMatch(/QUOTA_CLIENT_KEY_ROLLING/);
    expect(problems.join('\n')).not.toContain('short-secret');
  });
});

describe.skipIf(!redisUrl)('QUOTA_CLIENT_KEY_SECRET and QUOTA_CLIENT_KEY_ROLLING', () => {
  const quotaKeyPrefix = `hf-test:${process.pid}:${Date.now()}:client-keys:`;
  const apps: FastifyInstance[] = [];
  /** A replica on the shared Redis: `secret` undefined is a replica of a release that derived its key. */
  const replica = async (secret: string | undefined, rolling = false) => {
    const secrets = { ...testConfig().secrets, quotaClientKeySecret: secret };
    const { app } = await testApp(database, { redisUrl, quotaKeyPrefix, quotaClientKeyRolling: rolling, secrets });
    apps.push(app);
    return app;
  };

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    const redis = new Redis(redisUrl!, { lazyConnect: true });
    await redis.connect();
    const keys = await redis.keys(`${quotaKeyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('keys clients under its own secret, not the derived one: without rolling, the two do not see each other', async () => {
    const [derived, own] = [await replica(undefined), await replica(SECRET)];
    const ip = freshIp();
    await derived.quota.ban(`ip:${ip}`, 60, 'test');
    expect(await banned(derived, ip)).toBe(true);
    expect(await banned(own, ip)).toBe(false);
  });

  it('while rolling, honours bans both ways between replicas that derive the key and replicas that have the setting', async () => {
    const [derived, own] = [await replica(undefined), await replica(SECRET, true)];
    const first = freshIp();
    await derived.quota.ban(`ip:${first}`, 60, 'test');
    expect(await banned(own, first)).toBe(true);
    const second = freshIp();
    await own.quota.ban(`ip:${second}`, 60, 'test');
    expect(await banned(derived, second)).toBe(true);
  });

  it('rotates: a list reads bans under every secret in it and writes under the first', async () => {
    const [older, rotated] = [await replica(OLDER), await replica(`${SECRET},${OLDER}`)];
    const ip = freshIp();
    await older.quota.ban(`ip:${ip}`, 60, 'test');
    expect(await banned(rotated, ip)).toBe(true);
    const other = freshIp();
    await rotated.quota.ban(`ip:${other}`, 60, 'test');
    expect(await banned(older, other)).toBe(true);
    // A replica that has only the new secret never reads the older key.
    const newOnly = await replica(SECRET);
    const third = freshIp();
    await older.quota.ban(`ip:${third}`, 60, 'test');
    expect(await banned(newOnly, third)).toBe(false);
  });
});
