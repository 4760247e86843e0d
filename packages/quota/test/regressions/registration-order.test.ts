// Issue 19 item 3: quota attaches its limits to routes as they are declared (onRoute), so a route
// declared before the plugin was registered gets the IP ban but no limits. That used to be silent;
// now the first request to such a route logs an error naming it (once), and the README says to
// register quota first.
import { captureLogs } from '@harakaflow/testing';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import quota from '../../src/index.js';

describe('registration order', () => {
  it('says, once per route, that a route declared before quota is not limited; routes after it are', async () => {
    const logs = captureLogs();
    const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
    app.get('/early', async () => ({ ok: true }));
    await app.register(quota, { anonymous: { requestsPerMinute: 1 } });
    app.get('/late', async () => ({ ok: true }));
    app.get('/off', { config: { quota: false } }, async () => ({ ok: true }));
    await app.ready();

    for (let i = 0; i < 3; i++)
      expect((await app.inject({ url: '/early', remoteAddress: '203.0.113.1' })).statusCode).toBe(200);
    const told = logs.lines().filter((l) => String(l.msg).includes('declared before @harakaflow/quota'));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ level: 50, route: 'GET /early' });

    expect((await app.inject({ url: '/late', remoteAddress: '203.0.113.2' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/late', remoteAddress: '203.0.113.2' })).statusCode).toBe(429);
    await app.inject({ url: '/off', remoteAddress: '203.0.113.3' });
    await app.inject({ url: '/nowhere', remoteAddress: '203.0.113.3' });
    expect(logs.lines().filter((l) => String(l.msg).includes('declared before'))).toHaveLength(1);
    await app.close();
  });
});
