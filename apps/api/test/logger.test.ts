import { captureLogs } from '@harakaflow/testing';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyChildLogger } from '../src/logger.js';

describe('lazyChildLogger', () => {
  it('builds no pino child for a request that logs nothing at an enabled level', async () => {
    const logs = captureLogs();
    const parent = pino({ level: 'warn' }, logs.stream);
    const child = vi.spyOn(parent, 'child');
    const app = Fastify({ loggerInstance: parent, childLoggerFactory: lazyChildLogger });
    app.get('/', async (request) => {
      request.log.info('not written');
      return { ok: true };
    });
    await app.ready();
    child.mockClear(); // Fastify wraps its logger instance once at construction
    await app.inject('/');
    expect(child).not.toHaveBeenCalled();
    expect(logs.text()).toBe('');
    await app.close();
  });

  it('writes enabled lines with the request bindings and the redaction of the parent', async () => {
    const logs = captureLogs();
    const parent = pino({ level: 'info', redact: ['*.apiKey'] }, logs.stream);
    const app = Fastify({ loggerInstance: parent, childLoggerFactory: lazyChildLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.get('/', async (request) => {
      request.log.debug('not written');
      request.log.warn({ body: { apiKey: 'hf_secret' } }, 'written');
      return { ok: true };
    });
    await app.inject('/');
    const lines = logs.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'written', reqId: expect.any(String), body: { apiKey: '[Redacted]' } });
    expect(logs.text()).not.toContain('hf_secret');
    await app.close();
  });

  it('honours a route log level by building the child at once', async () => {
    const logs = captureLogs();
    const parent = pino({ level: 'warn' }, logs.stream);
    const app = Fastify({ loggerInstance: parent, childLoggerFactory: lazyChildLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.get('/', { logLevel: 'debug' }, async (request) => {
      request.log.debug('route debug');
      return { ok: true };
    });
    await app.inject('/');
    expect(logs.lines().map((l) => l.msg)).toEqual(['route debug']);
    await app.close();
  });
});
