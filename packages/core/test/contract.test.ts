import {
  defaultSubject,
  personalDataHandlers,
  registerPersonalDataHandler,
  securityEvent,
  type PersonalDataHandler,
} from '@harakaflow/core';
import Fastify, { type FastifyRequest } from 'fastify';
import { describe, expect, it, vi } from 'vitest';

const handler = (name: string): PersonalDataHandler => ({
  name,
  exportSubject: async () => ({}),
  eraseSubject: async () => ({ erased: 0 }),
});

describe('personal-data handler registry', () => {
  it('collects handlers registered in any encapsulation context of one app, and keeps apps apart', async () => {
    const app = Fastify();
    const other = Fastify();
    await app.register(async (child) => {
      registerPersonalDataHandler(child, handler('consent'));
      await child.register(async (grandchild) => registerPersonalDataHandler(grandchild, handler('vault')));
    });
    await app.ready();
    expect(personalDataHandlers(app).map((h) => h.name)).toEqual(['consent', 'vault']);
    expect(personalDataHandlers(other)).toEqual([]);
    await Promise.all([app.close(), other.close()]);
  });

  it('refuses the same name twice', () => {
    const app = Fastify();
    registerPersonalDataHandler(app, handler('audit'));
    expect(() => registerPersonalDataHandler(app, handler('audit'))).toThrow(expect.objectContaining({ code: 'HF_CORE_DUPLICATE_HANDLER' }));
  });
});

describe('defaultSubject', () => {
  it('is the account principal id, and nothing for admin or anonymous requests', () => {
    expect(defaultSubject({ principal: { kind: 'account', id: 'a1' } } as unknown as FastifyRequest)).toBe('a1');
    expect(defaultSubject({ principal: { kind: 'admin', id: 'admin' } } as unknown as FastifyRequest)).toBeUndefined();
    expect(defaultSubject({ principal: null } as unknown as FastifyRequest)).toBeUndefined();
    expect(defaultSubject({} as FastifyRequest)).toBeUndefined();
  });
});

describe('securityEvent', () => {
  it('goes to the logger when audit is not registered', async () => {
    const app = Fastify();
    const info = vi.spyOn(app.log, 'info');
    await securityEvent(app, undefined, { action: 'consent.granted', outcome: 'success' });
    expect(info).toHaveBeenCalledWith(expect.objectContaining({ securityEvent: expect.objectContaining({ action: 'consent.granted' }) }), 'consent.granted');
  });

  it('goes to fastify.audit when it is decorated, and propagates a sync failure', async () => {
    const app = Fastify();
    const record = vi.fn(async (event: { durability?: string }) => {
      if (event.durability === 'sync') throw new Error('commit failed');
    });
    app.decorate('audit', { record });
    await securityEvent(app, undefined, { action: 'vault.secret.read' });
    expect(record).toHaveBeenCalledOnce();
    await expect(securityEvent(app, undefined, { action: 'vault.secret.read', durability: 'sync' })).rejects.toThrow('commit failed');
  });
});

describe('cookieValues', () => {
  it('returns every value of a name in order, ignoring look-alike names', async () => {
    const { cookieValues } = await import('@harakaflow/core');
    expect(cookieValues('a=1; hf=x; xhf=2; hf = y ;hf=', 'hf')).toEqual(['x', 'y', '']);
    expect(cookieValues('a=1', 'hf')).toEqual([]);
    expect(cookieValues(undefined, 'hf')).toEqual([]);
  });
});
