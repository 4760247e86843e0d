// Issue 30 item 12: only TRUST_PROXY's reader (parseConfig) refused a blanket trust; buildApp handed
// whatever `trustProxy` an AppConfig made in code held straight to Fastify, where `true`, a hop
// count, '*' or a function let any client choose its IP through X-Forwarded-For.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type AppConfig } from '../../src/index.js';
import { testConfig } from '../helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

describe('buildApp checks trustProxy itself', () => {
  it('refuses what TRUST_PROXY refuses, and what it cannot even spell, with HF_CONFIG_INVALID', async () => {
    const refused: unknown[] = [
      true,
      1,
      2,
      '*',
      '0.0.0.0/0',
      () => true,
      [],
      ['*'],
      ['0.0.0.0/0'],
      ['0.0.0.0/1', '128.0.0.0/1'],
      ['::/0'],
      ['10.0.0.1', 7],
      null,
      undefined,
    ];
    for (const trustProxy of refused) {
      await expect(
        buildApp(testConfig({ trustProxy: trustProxy as AppConfig['trustProxy'] }), { database }),
        String(trustProxy),
      ).rejects.toMatchObject({
        code: 'HF_CONFIG_INVALID',
        problems: [expect.stringMatching(/^trustProxy /)],
      });
    }
  });

  it('builds with false or a list TRUST_PROXY would give, and believes X-Forwarded-For from that proxy only', async () => {
    for (const trustProxy of [false, ['127.0.0.1', 'loopback', '10.1.0.0/16']] as AppConfig['trustProxy'][]) {
      const app = await buildApp(testConfig({ trustProxy }), { database });
      try {
        app.get('/ip', { config: { auth: 'public', ageGate: false } }, async (request) => ({ ip: request.ip }));
        await app.ready();
        const ip = (
          await app.inject({ url: '/ip', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.5' } })
        ).json().ip;
        expect(ip).toBe(trustProxy ? '203.0.113.5' : '127.0.0.1');
        expect(
          (
            await app.inject({
              url: '/ip',
              remoteAddress: '198.51.100.1',
              headers: { 'x-forwarded-for': '203.0.113.5' },
            })
          ).json().ip,
        ).toBe('198.51.100.1');
      } finally {
        await app.close();
      }
    }
  });
});
