/**
 * A metrics sink in memory: what a package's own tests bind to read what it reported, without a
 * metrics library (the reference app binds prom-client). Also a reading of the interface's rules:
 * label names fixed, label values given for each, collects run before a read.
 */
import type { Counter, Gauge, Histogram, Labels, MetricsSink } from './metrics.js';

type Series = { labels: Record<string, string>; value: number; sum: number; buckets: number[] };
interface Entry {
  kind: 'counter' | 'gauge' | 'histogram';
  labelNames: readonly string[];
  bounds: readonly number[];
  series: Map<string, Series>;
  collect?: (() => void | Promise<void>) | undefined;
}

export interface MemoryMetrics extends MetricsSink {
  /** Runs every collect (as a scrape would). */
  collect(): Promise<void>;
  /**
   * A counter's or gauge's value for these labels (a histogram's: its count), after `collect()`; undefined if never
   * set.
   */
  value(name: string, labels?: Record<string, string | number>): number | undefined;
  /** A histogram's count and sum for these labels. */
  observed(name: string, labels?: Record<string, string | number>): { count: number; sum: number } | undefined;
  /** Every series of every metric: `name{a="x"} value` lines, sorted (for tests that look for a value in any label). */
  lines(): string[];
}

export function memoryMetrics(): MemoryMetrics {
  const entries = new Map<string, Entry>();
  const keyOf = (e: Entry, labels: Record<string, string | number> | undefined) => {
    const given = labels ?? {};
    for (const l of e.labelNames) if (given[l] === undefined) throw new TypeError(`metrics: label ${l} missing`);
    for (const l of Object.keys(given))
      if (!e.labelNames.includes(l))
        throw new TypeError(`metrics: label ${l} is not one of [${e.labelNames.join(', ')}]`);
    return e.labelNames.map((l) => `${l}=${JSON.stringify(String(given[l]))}`).join(',');
  };
  const series = (e: Entry, labels: Record<string, string | number> | undefined) => {
    const key = keyOf(e, labels);
    let s = e.series.get(key);
    if (!s)
      e.series.set(
        key,
        (s = {
          labels: Object.fromEntries(e.labelNames.map((l) => [l, String(labels![l])])),
          value: 0,
          sum: 0,
          buckets: e.bounds.map(() => 0),
        }),
      );
    return s;
  };
  const add = (
    name: string,
    kind: Entry['kind'],
    labelNames: readonly string[] | undefined,
    bounds: readonly number[] = [],
  ) => {
    if (entries.has(name)) throw new Error(`metrics: ${name} made twice`);
    const e: Entry = { kind, labelNames: labelNames ?? [], bounds, series: new Map() };
    entries.set(name, e);
    return e;
  };
  const observe = (s: Series, bounds: readonly number[], v: number) => {
    s.value++;
    s.sum += v;
    for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]!) s.buckets[i]!++;
  };
  return {
    counter<L extends string>(spec: {
      name: string;
      labelNames?: readonly L[] | undefined;
      collect?: ((c: Counter<L>) => void | Promise<void>) | undefined;
    }): Counter<L> {
      const e = add(spec.name, 'counter', spec.labelNames);
      const inc = (labels: Labels<L> | undefined, by = 1) => {
        if (!(by >= 0)) throw new TypeError('metrics: a counter only goes up');
        series(e, labels).value += by;
      };
      const c: Counter<L> = { inc, labels: (labels) => ({ inc: (by) => inc(labels, by) }) };
      e.collect = spec.collect && (() => spec.collect!(c));
      return c;
    },
    gauge<L extends string>(spec: {
      name: string;
      labelNames?: readonly L[] | undefined;
      collect?: ((g: Gauge<L>) => void | Promise<void>) | undefined;
    }): Gauge<L> {
      const e = add(spec.name, 'gauge', spec.labelNames);
      const set = (value: number, labels?: Labels<L>) => void (series(e, labels).value = value);
      const g: Gauge<L> = { set, labels: (labels) => ({ set: (v) => set(v, labels) }) };
      e.collect = spec.collect && (() => spec.collect!(g));
      return g;
    },
    histogram<L extends string>(spec: {
      name: string;
      labelNames?: readonly L[] | undefined;
      buckets: readonly number[];
    }): Histogram<L> {
      const e = add(spec.name, 'histogram', spec.labelNames, spec.buckets);
      return {
        observe: (v, labels) => observe(series(e, labels), e.bounds, v),
        labels: (labels) => {
          const s = series(e, labels);
          return { observe: (v) => observe(s, e.bounds, v) };
        },
      };
    },
    async collect() {
      for (const e of entries.values()) await e.collect?.();
    },
    value(name, labels) {
      const e = entries.get(name);
      return e?.series.get(keyOf(e, labels))?.value;
    },
    observed(name, labels) {
      const e = entries.get(name);
      const s = e?.series.get(keyOf(e, labels));
      return s && { count: s.value, sum: s.sum };
    },
    lines() {
      const out: string[] = [];
      for (const [name, e] of entries)
        for (const s of e.series.values())
          out.push(
            `${name}{${Object.entries(s.labels)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(',')}} ${s.value}`,
          );
      return out.sort();
    },
  };
}
