// Issue 28 item 5: core's metrics interface on prom-client. The histogram counted here renders as
// prom-client's own would; a collect that fails keeps the metric and is reported, not a failed scrape.
import { Histogram, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { prometheusSink } from '../src/metrics/prometheus.js';

it('renders a histogram exactly as prom-client does for the same observations, labels escaped', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const spec = {
    name: 'harakaflow_wait_seconds',
    help: 'How long it waited',
    labelNames: ['route', 'status'] as const,
    buckets: [0.01, 0.1, 1],
  };
  const h = prometheusSink(ours, () => {}).histogram(spec);
  const reference = new Histogram({
    ...spec,
    labelNames: [...spec.labelNames],
    buckets: [...spec.buckets],
    registers: [theirs],
  });
  const bound = h.labels({ route: '/v1/a/"quoted"\\', status: 200 });
  for (const v of [0.005, 0.01, 0.05, 0.5, 3]) {
    bound.observe(v);
    reference.observe({ route: '/v1/a/"quoted"\\', status: 200 }, v);
  }
  h.observe(0.2, { route: '/v1/b', status: 404 });
  reference.observe({ route: '/v1/b', status: 404 }, 0.2);
  expect(await ours.metrics()).toBe(await theirs.metrics());
  expect(() => h.observe(1, { route: '/x' } as never)).toThrow(/needs label status/);
  expect(() => h.observe(1, { route: '/x', status: 1, ip: 'x' } as never)).toThrow(/takes labels/);
});

it('keeps the last value of a metric whose collect fails, and reports the failure; the scrape succeeds', async () => {
  const registry = new Registry();
  const failures: string[] = [];
  const sink = prometheusSink(registry, (name) => failures.push(name));
  let fail = false;
  sink.gauge({
    name: 'harakaflow_pending',
    help: 'Pending',
    collect: (g) => {
      if (fail) throw new Error('database away');
      g.set(4);
    },
  });
  sink.counter({ name: 'harakaflow_things_total', help: 'Things', labelNames: ['kind'] }).inc({ kind: 'a' }, 2);
  expect(await registry.metrics()).toContain('harakaflow_pending 4');
  fail = true;
  const text = await registry.metrics();
  expect(text).toContain('harakaflow_pending 4');
  expect(text).toContain('harakaflow_things_total{kind="a"} 2');
  expect(failures).toEqual(['harakaflow_pending']);
});
