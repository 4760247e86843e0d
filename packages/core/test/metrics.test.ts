// Issue 28 item 5: core's metrics interface. No sink bound: every metric a no-op; names and labels
// checked either way; a sink bound after a package asked is refused; one name, one metric.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { bindMetrics, cachedFor, gaugesFrom, memoryMetrics, metrics, metricsBound } from '../src/index.js';

describe('metrics(fastify)', () => {
  it('is a no-op without a sink, checks names and labels either way', () => {
    const app = Fastify();
    const m = metrics(app);
    const c = m.counter({ name: 'harakaflow_things_total', help: 'things', labelNames: ['kind'] });
    expect(() => c.inc({ kind: 'a' })).not.toThrow();
    expect(() => c.labels({ kind: 'a' }).inc(2)).not.toThrow();
    expect(metricsBound(app)).toBe(false);
    const bad: [object, RegExp][] = [
      [{ name: 'things_total', help: 'x' }, /harakaflow_/],
      [{ name: 'harakaflow_Things_total', help: 'x' }, /harakaflow_/],
      [{ name: 'harakaflow_things_total', help: '' }, /help/],
      [{ name: 'harakaflow_things', help: 'x' }, /_total/],
      [{ name: 'harakaflow_things_total', help: 'x', labelNames: ['Route'] }, /label name/],
    ];
    for (const [spec, message] of bad)
      expect(() => m.counter(spec as never)).toThrow(
        expect.objectContaining({ code: 'HF_CORE_INVALID_METRIC', message: expect.stringMatching(message) }),
      );
    expect(() => m.histogram({ name: 'harakaflow_wait_seconds', help: 'x', buckets: [1, 0.5] })).toThrow(/ascending/);
    expect(() => m.histogram({ name: 'harakaflow_wait_seconds', help: 'x', labelNames: ['le'], buckets: [1] })).toThrow(
      /label name/,
    );
  });

  it('hands the bound sink to every encapsulation context of the app, and not to another app', async () => {
    const app = Fastify();
    const sink = memoryMetrics();
    bindMetrics(app, sink);
    await app.register(async (scope) => {
      metrics(scope).counter({ name: 'harakaflow_scoped_total', help: 'x' }).inc();
    });
    await app.ready();
    expect(sink.value('harakaflow_scoped_total')).toBe(1);
    const other = Fastify();
    metrics(other).counter({ name: 'harakaflow_scoped_total', help: 'x' }).inc();
    expect(sink.value('harakaflow_scoped_total')).toBe(1);
  });

  it('refuses a sink bound after a package asked (its metrics would go unreported), or bound twice', () => {
    const late = Fastify();
    metrics(late);
    expect(() => bindMetrics(late, memoryMetrics())).toThrow(
      expect.objectContaining({ code: 'HF_CORE_METRICS_BOUND_LATE' }),
    );
    const twice = Fastify();
    bindMetrics(twice, memoryMetrics());
    expect(() => bindMetrics(twice, memoryMetrics())).toThrow(
      expect.objectContaining({ code: 'HF_CORE_METRICS_BOUND_TWICE' }),
    );
  });

  it('gives the same metric for the same name, kind and labels; another kind or labels is an error', () => {
    const app = Fastify();
    const sink = memoryMetrics();
    bindMetrics(app, sink);
    const a = metrics(app).counter({ name: 'harakaflow_same_total', help: 'x', labelNames: ['k'] });
    const b = metrics(app).counter({ name: 'harakaflow_same_total', help: 'x', labelNames: ['k'] });
    expect(b).toBe(a);
    expect(() => metrics(app).gauge({ name: 'harakaflow_same_total', help: 'x', labelNames: ['k'] })).toThrow(
      /already a counter/,
    );
    expect(() => metrics(app).counter({ name: 'harakaflow_same_total', help: 'x', labelNames: ['j'] })).toThrow(
      /labels \[k\]/,
    );
  });
});

describe('the memory sink', () => {
  it('counts, sets, observes by labels, runs collects, refuses a missing or unknown label', async () => {
    const sink = memoryMetrics();
    const c = sink.counter({ name: 'harakaflow_a_total', help: 'x', labelNames: ['limit'] });
    c.inc({ limit: 'free.minute' });
    c.labels({ limit: 'free.minute' }).inc(2);
    let backlog = 7;
    sink.gauge({ name: 'harakaflow_backlog', help: 'x', collect: (g) => g.set(backlog) });
    const h = sink.histogram({ name: 'harakaflow_wait_seconds', help: 'x', labelNames: ['kind'], buckets: [1, 10] });
    h.observe(0.5, { kind: 'access' });
    h.labels({ kind: 'access' }).observe(20);
    await sink.collect();
    backlog = 9;
    expect(sink.value('harakaflow_a_total', { limit: 'free.minute' })).toBe(3);
    expect(sink.value('harakaflow_backlog')).toBe(7);
    await sink.collect();
    expect(sink.value('harakaflow_backlog')).toBe(9);
    expect(sink.observed('harakaflow_wait_seconds', { kind: 'access' })).toEqual({ count: 2, sum: 20.5 });
    expect(() => c.inc()).toThrow(/label limit missing/);
    expect(() => c.inc({ limit: 'x', ip: '1' } as never)).toThrow(/not one of/);
    expect(() => c.inc({ limit: 'x' }, -1)).toThrow(/only goes up/);
  });
});

describe('cachedFor and gaugesFrom', () => {
  it('reads once per period for every gauge of one load, and forgets a failure', async () => {
    let now = 0;
    let loads = 0;
    let fail = false;
    const load = cachedFor(
      1000,
      async () => {
        loads++;
        if (fail) throw new Error('database away');
        return { pending: loads, failed: 2 };
      },
      () => now,
    );
    const sink = memoryMetrics();
    gaugesFrom(sink, load, {
      pending: { name: 'harakaflow_p', help: 'x' },
      failed: { name: 'harakaflow_f', help: 'x' },
    });
    await sink.collect();
    expect(loads).toBe(1);
    expect([sink.value('harakaflow_p'), sink.value('harakaflow_f')]).toEqual([1, 2]);
    now = 999;
    await sink.collect();
    expect(loads).toBe(1);
    now = 1000;
    fail = true;
    await expect(sink.collect()).rejects.toThrow('database away');
    fail = false;
    await sink.collect();
    expect(loads).toBe(3);
    expect(sink.value('harakaflow_p')).toBe(3);
  });
});
