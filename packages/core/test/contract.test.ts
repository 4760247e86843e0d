import {
  collectExport,
  defaultSubject,
  isE164,
  isRestricted,
  personalDataHandlers,
  registerPersonalDataHandler,
  registerRestrictionSource,
  registerSubjectHoldSource,
  securityEvent,
  subjectHolds,
  type PersonalDataHandler,
} from '@harakaflow/core';
import Fastify, { type FastifyRequest } from 'fastify';
import { describe, expect, it, vi } from 'vitest';

const handler = (name: string): PersonalDataHandler => ({
  name,
  identifiers: ['account'],
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
    expect(() => registerPersonalDataHandler(app, handler('audit'))).toThrow(
      expect.objectContaining({ code: 'HF_CORE_DUPLICATE_HANDLER' }),
    );
  });

  it('adopts a handler of the first contract (account ids) as an account-only handler', async () => {
    const app = Fastify();
    const seen: string[] = [];
    registerPersonalDataHandler(app, {
      name: 'legacy',
      exportSubject: async (id: string) => ({ id }),
      eraseSubject: async (id: string) => (seen.push(id), { erased: 1 }),
    });
    registerPersonalDataHandler(app, { ...handler('contacts'), identifiers: ['account', 'contact'] });
    const [legacy] = personalDataHandlers(app);
    expect(legacy!.identifiers).toEqual(['account']);
    expect(await legacy!.exportSubject({ kind: 'account', accountId: 'a1' })).toEqual({ id: 'a1' });
    expect(await legacy!.eraseSubject({ kind: 'account', accountId: 'a2' })).toEqual({ erased: 1 });
    expect(seen).toEqual(['a2']);
    expect(personalDataHandlers(app, 'contact').map((h) => h.name)).toEqual(['contacts']);
    expect(personalDataHandlers(app, 'email')).toEqual([]);
  });

  it('refuses a handler without a usable name, functions or identifiers', () => {
    const app = Fastify();
    const bad = [
      { ...handler('x'), name: 'Has Spaces' },
      { ...handler('x'), identifiers: [] },
      { ...handler('x'), identifiers: ['account', 'phone'] },
      { name: 'x', identifiers: ['account'], exportSubject: async () => ({}) },
      { ...handler('x'), retentionClasses: 'message_logs' },
      { ...handler('x'), retentionClasses: [''] },
      // An export's own entries: a part of that name would collide with them in the zip.
      { ...handler('x'), name: 'manifest' },
      { ...handler('x'), name: 'article15' },
    ];
    for (const h of bad)
      expect(() => registerPersonalDataHandler(app, h as never)).toThrow(
        expect.objectContaining({ code: 'HF_CORE_INVALID_HANDLER' }),
      );
    expect(personalDataHandlers(app)).toEqual([]);
  });

  it('gathers a streamed export into an array, and passes a value through', async () => {
    async function* records() {
      yield { n: 1 };
      yield { n: 2 };
    }
    expect(await collectExport(records())).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await collectExport(Promise.resolve({ one: true }))).toEqual({ one: true });
  });
});

describe('holds by subject', () => {
  it('gathers every source’s holds on a subject once each, per app (none registered: none)', async () => {
    const app = Fastify();
    expect(await subjectHolds(app, 'a1')).toEqual([]);
    registerSubjectHoldSource(app, async (id) =>
      id === 'a1' ? [{ id: 'h1', class: 'message_logs', reason: 'dispute' }] : [],
    );
    registerSubjectHoldSource(app, async () => [
      { id: 'h1', class: 'message_logs', reason: 'dispute' },
      { id: 'h2', class: null, reason: 'court order' },
    ]);
    expect(await subjectHolds(app, 'a1')).toEqual([
      { id: 'h1', class: 'message_logs', reason: 'dispute' },
      { id: 'h2', class: null, reason: 'court order' },
    ]);
    expect(await subjectHolds(Fastify(), 'a1')).toEqual([]);
    // A handler names the classes a hold on them keeps through an erasure.
    registerPersonalDataHandler(app, { ...handler('messages'), retentionClasses: ['message_logs'] });
    expect(personalDataHandlers(app)[0]!.retentionClasses).toEqual(['message_logs']);
  });
});

describe('the restriction flag', () => {
  it('is false with no source, and true when any source says so, per app', async () => {
    const app = Fastify();
    const other = Fastify();
    expect(await isRestricted(app, 'a1')).toBe(false);
    registerRestrictionSource(app, (id) => id === 'a1');
    registerRestrictionSource(app, async (id) => id === 'a2');
    expect(await isRestricted(app, 'a1')).toBe(true);
    expect(await isRestricted(app, 'a2')).toBe(true);
    expect(await isRestricted(app, 'a3')).toBe(false);
    expect(await isRestricted(other, 'a1')).toBe(false);
  });
});

describe('isE164', () => {
  it('accepts + and 2 to 15 digits without a leading zero, and nothing else', () => {
    for (const ok of ['+14155550123', '+447911123456', '+2547001', '+123456789012345'])
      expect(isE164(ok), ok).toBe(true);
    for (const bad of ['14155550123', '+0123456789', '+1', '+1234567890123456', '+1 415 555', '+1-415', '', null, 5])
      expect(isE164(bad), String(bad)).toBe(false);
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
    expect(info).toHaveBeenCalledWith(
      expect.objectContaining({ securityEvent: expect.objectContaining({ action: 'consent.granted' }) }),
      'consent.granted',
    );
  });

  it('goes to fastify.audit when it is decorated, and propagates a sync failure', async () => {
    const app = Fastify();
    const record = vi.fn(async (event: { durability?: string }) => {
      if (event.durability === 'sync') throw new Error('commit failed');
    });
    app.decorate('audit', { record });
    await securityEvent(app, undefined, { action: 'vault.secret.read' });
    expect(record).toHaveBeenCalledOnce();
    await expect(securityEvent(app, undefined, { action: 'vault.secret.read', durability: 'sync' })).rejects.toThrow(
      'commit failed',
    );
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
