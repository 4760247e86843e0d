/**
 * Core's metrics interface bound to prom-client (issue 28 item 5): counters and gauges are
 * prom-client's; histograms are counted here, in arrays per label set, and rendered through the
 * same registry. (prom-client's histogram builds a key from the labels on every observation, even
 * a bound child's: about 450 ns, paid by every request for the latency histogram; this one is
 * a bucket search and three additions.)
 */
import type {
  Counter,
  CounterSpec,
  Gauge,
  GaugeSpec,
  Histogram,
  HistogramSpec,
  Labels,
  MetricsSink,
} from '@harakaflow/core';
import { Counter as PromCounter, Gauge as PromGauge, type LabelValues, type Metric, type Registry } from 'prom-client';

type Values = Record<string, string | number>;

/** A collect that fails leaves the metric as it was, and is reported (counted, logged). */
export type CollectFailed = (metric: string, error: unknown) => void;

function guarded<T>(
  name: string,
  collect: ((m: T) => void | Promise<void>) | undefined,
  metric: () => T,
  failed: CollectFailed,
) {
  if (!collect) return undefined;
  return async () => {
    try {
      await collect(metric());
    } catch (error) {
      failed(name, error);
    }
  };
}

interface Series {
  labels: Values;
  /** Observations per bucket (not cumulative); the last is +Inf's own. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram registered in a prom-client registry as a metric of its own (prom-client's `get()` shape). */
export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #labelNames: readonly string[];
  readonly #series = new Map<string, Series>();

  constructor(spec: {
    name: string;
    help: string;
    labelNames?: readonly string[] | undefined;
    buckets: readonly number[];
  }) {
    this.name = spec.name;
    this.help = spec.help;
    this.#bounds = [...spec.buckets];
    this.#labelNames = [...(spec.labelNames ?? [])];
  }

  /** The series of a label set: every label name given, no other. */
  series(labels: Values | undefined): Series {
    const given = labels ?? {};
    let key = '';
    for (const l of this.#labelNames) {
      const v = given[l];
      if (v === undefined) throw new TypeError(`metrics: ${this.name} needs label ${l}`);
      key += `${String(v)}\u0000`;
    }
    if (Object.keys(given).length !== this.#labelNames.length)
      throw new TypeError(`metrics: ${this.name} takes labels [${this.#labelNames.join(', ')}]`);
    let s = this.#series.get(key);
    if (!s)
      this.#series.set(
        key,
        (s = {
          labels: Object.fromEntries(this.#labelNames.map((l) => [l, String(given[l])])),
          counts: new Float64Array(this.#bounds.length + 1),
          sum: 0,
          count: 0,
        }),
      );
    return s;
  }

  observe(s: Series, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  reset(): void {
    this.#series.clear();
  }

  /** What prom-client's registry renders: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  async get() {
    const values: { value: number; labels: Values; metricName: string }[] = [];
    for (const s of this.#series.values()) {
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ value: acc, labels: { le, ...s.labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { le: '+Inf', ...s.labels }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** A sink whose metrics are registered in `registry`. */
export function prometheusSink(registry: Registry, failed: CollectFailed): MetricsSink {
  return {
    counter<L extends string>(spec: CounterSpec<L>): Counter<L> {
      const collect = guarded(spec.name, spec.collect, () => handle, failed);
      const c = new PromCounter({
        name: spec.name,
        help: spec.help,
        labelNames: [...(spec.labelNames ?? [])],
        registers: [registry],
        ...(collect ? { collect } : {}),
      });
      const handle: Counter<L> = {
        inc: (labels?: Labels<L>, by = 1) => (labels ? c.inc(labels as LabelValues<L>, by) : c.inc(by)),
        labels: (labels) => c.labels(labels as LabelValues<L>),
      };
      return handle;
    },
    gauge<L extends string>(spec: GaugeSpec<L>): Gauge<L> {
      const collect = guarded(spec.name, spec.collect, () => handle, failed);
      const g = new PromGauge({
        name: spec.name,
        help: spec.help,
        labelNames: [...(spec.labelNames ?? [])],
        registers: [registry],
        ...(collect ? { collect } : {}),
      });
      const handle: Gauge<L> = {
        set: (value: number, labels?: Labels<L>) => (labels ? g.set(labels as LabelValues<L>, value) : g.set(value)),
        labels: (labels) => g.labels(labels as LabelValues<L>),
      };
      return handle;
    },
    histogram<L extends string>(spec: HistogramSpec<L>): Histogram<L> {
      const h = new BucketHistogram(spec);
      registry.registerMetric(h as unknown as Metric);
      return {
        observe: (value: number, labels?: Labels<L>) => h.observe(h.series(labels as Values | undefined), value),
        labels: (labels) => {
          const s = h.series(labels as Values);
          return { observe: (value: number) => h.observe(s, value) };
        },
      };
    },
  };
}
