import { captureLogs } from '@harakaflow/testing';
import Fastify, { LogController } from 'fastify';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { AppLogController, lazyChildLogger } from '../src/http/logger.js';

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
    const app = Fastify({
      loggerInstance: parent,
      childLoggerFactory: lazyChildLogger,
      logController: new LogController({ disableRequestLogging: true }),
    });
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
    const app = Fastify({
      loggerInstance: parent,
      childLoggerFactory: lazyChildLogger,
      logController: new LogController({ disableRequestLogging: true }),
    });
    app.get('/', { logLevel: 'debug' }, async (request) => {
      request.log.debug('route debug');
      return { ok: true };
    });
    await app.inject('/');
    expect(logs.lines().map((l) => l.msg)).toEqual(['route debug']);
    await app.close();
  });
});

describe('AppLogController', () => {
  const app = (level: string, routeLevel?: 'info') => {
    const logs = captureLogs();
    const parent = pino({ level }, logs.stream);
    const child = vi.spyOn(parent, 'child');
    const server = Fastify({
      loggerInstance: parent,
      childLoggerFactory: lazyChildLogger,
      logController: new AppLogController(),
    });
    server.get('/', routeLevel ? { logLevel: routeLevel } : {}, async () => ({ ok: true }));
    return { server, logs, child };
  };

  it("writes Fastify's request lines when info is enabled, with the request id", async () => {
    const { server, logs } = app('info');
    await server.inject('/');
    const lines = logs.lines().filter((l) => l.reqId);
    expect(lines.map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    expect(lines[0]).toMatchObject({ req: { method: 'GET', url: '/' } });
    expect(lines[1]).toMatchObject({ res: { statusCode: 200 }, responseTime: expect.any(Number) });
    expect(lines[0]!.reqId).toBe(lines[1]!.reqId);
    await server.close();
  });

  it('above info it writes none and builds no request logger; a route at info still gets its lines', async () => {
    const quiet = app('warn');
    await quiet.server.ready();
    quiet.child.mockClear();
    // Fastify's own line builders (which read the response time and allocate the line) are not reached.
    const incoming = vi.spyOn(LogController.prototype, 'incomingRequest');
    const completed = vi.spyOn(LogController.prototype, 'requestCompleted');
    await quiet.server.inject('/');
    expect(quiet.logs.text()).toBe('');
    expect(quiet.child).not.toHaveBeenCalled();
    expect(incoming).not.toHaveBeenCalled();
    expect(completed).not.toHaveBeenCalled();
    incoming.mockRestore();
    completed.mockRestore();
    await quiet.server.close();

    const route = app('warn', 'info');
    await route.server.inject('/');
    expect(route.logs.lines().map((l) => l.msg)).toEqual(['incoming request', 'request completed']);
    await route.server.close();
  });

  it("the lazy request logger answers isLevelEnabled from its parent's level without building the child", () => {
    const parent = pino({ level: 'warn' }, captureLogs().stream);
    const child = vi.spyOn(parent, 'child');
    const log = lazyChildLogger(parent, { reqId: 'r1' }, {}) as unknown as { isLevelEnabled(level: string): boolean };
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    parent.level = 'debug';
    expect(log.isLevelEnabled('info')).toBe(true);
    expect(child).not.toHaveBeenCalled();
  });
});
