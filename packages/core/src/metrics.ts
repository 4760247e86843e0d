/**
 * The metrics interface packages report through (ARCHITECTURE.md, "Metrics"; issue 28 item 5):
 * counters, gauges and histograms by name and fixed label names. The app binds a sink (the
 * reference app: prom-client) before it registers plugins; without one every metric is a no-op,
 * so a package reports unconditionally and costs next to nothing when nobody collects. No package
 * depends on a metrics library.
 *
 * Label values are route patterns and fixed values (a limit's name, an outcome, a class): never an
 * account id, an IP, an email or a token. A label set is bound once (`labels()`) where it is known
 * ahead, so a hot path pays one call, not a lookup.
 */
import type { FastifyInstance } from 'fastify';

/** One value per label name. */
export type Labels<L extends string> = { readonly [K in L]: string | number };

export interface MetricSpec<L extends string> {
  /** `harakaflow_` then lower-case letters, digits and `_` (Prometheus' conventions: `_total` counters, base units). */
  name: string;
  /** One line: what it counts, in the operator's words. */
  help: string;
  /** The label names, fixed when the metric is made. */
  labelNames?: readonly L[] | undefined;
}

export interface CounterSpec<L extends string> extends MetricSpec<L> {
  /** Run at scrape time, before the value is read (to add what another counter of the package counted since). */
  collect?: ((counter: Counter<L>) => void | Promise<void>) | undefined;
}

export interface GaugeSpec<L extends string> extends MetricSpec<L> {
  /**
   * Run at scrape time, before the value is read: sets the gauge from what it measures (a backlog, a count in the
   * database).
   */
  collect?: ((gauge: Gauge<L>) => void | Promise<void>) | undefined;
}

export interface HistogramSpec<L extends string> extends MetricSpec<L> {
  /** Upper bounds, ascending, in the metric's unit (seconds, bytes). */
  buckets: readonly number[];
}

export interface Counter<L extends string = never> {
  inc(labels?: Labels<L>, by?: number): void;
  labels(labels: Labels<L>): { inc(by?: number): void };
}

export interface Gauge<L extends string = never> {
  set(value: number, labels?: Labels<L>): void;
  labels(labels: Labels<L>): { set(value: number): void };
}

export interface Histogram<L extends string = never> {
  observe(value: number, labels?: Labels<L>): void;
  labels(labels: Labels<L>): { observe(value: number): void };
}

/** What an app binds: it makes the metrics packages ask for. Each name is asked for once per app. */
export interface MetricsSink {
  counter<L extends string>(spec: CounterSpec<L>): Counter<L>;
  gauge<L extends string>(spec: GaugeSpec<L>): Gauge<L>;
  histogram<L extends string>(spec: HistogramSpec<L>): Histogram<L>;
}

const NAME = /^harakaflow_[a-z][a-z0-9_]{0,99}$/;
const LABEL = /^[a-z][a-z0-9_]{0,49}$/;
const invalid = (why: string) => Object.assign(new TypeError(`metrics: ${why}`), { code: 'HF_CORE_INVALID_METRIC' });

function check(spec: MetricSpec<string> & { buckets?: readonly number[] }, kind: string): void {
  if (typeof spec?.name !== 'string' || !NAME.test(spec.name))
    throw invalid(
      `a metric's name is harakaflow_ and lower-case letters, digits and _ (got ${JSON.stringify(spec?.name)})`,
    );
  if (typeof spec.help !== 'string' || !spec.help) throw invalid(`${spec.name} needs its help text`);
  if (kind === 'counter' && !spec.name.endsWith('_total'))
    throw invalid(`${spec.name}: a counter's name ends in _total`);
  for (const l of spec.labelNames ?? [])
    if (!LABEL.test(l) || (kind === 'histogram' && l === 'le'))
      throw invalid(`${spec.name}: label name ${JSON.stringify(l)} is not allowed`);
  if (
    kind === 'histogram' &&
    (!Array.isArray(spec.buckets) ||
      !spec.buckets.length ||
      spec.buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= spec.buckets![i - 1]!)))
  ) {
    throw invalid(`${spec.name} needs buckets: finite upper bounds, ascending`);
  }
}

const noop = () => {};
const NOOP_CHILD = { inc: noop, set: noop, observe: noop };
const NOOP_METRIC = { inc: noop, set: noop, observe: noop, labels: () => NOOP_CHILD };

/** Every metric a no-op: what a package gets when the app bound no sink. */
const NOOP_METRICS: MetricsSink = {
  counter: () => NOOP_METRIC,
  gauge: () => NOOP_METRIC,
  histogram: () => NOOP_METRIC,
};

type Made = { kind: string; labels: string; metric: unknown };
const sinks = new WeakMap<object, { sink: MetricsSink; made: Map<string, Made> }>();
/** Apps whose packages were handed the no-op before a sink was bound: binding then is a mistake. */
const handedNoop = new WeakSet<object>();

/**
 * Binds the app's sink: before the plugins that report register (they make their metrics then).
 * Binding after a package already asked throws HF_CORE_METRICS_BOUND_LATE, rather than leaving
 * that package's metrics silently unreported.
 */
export function bindMetrics(fastify: FastifyInstance, sink: MetricsSink): void {
  if (
    !sink ||
    typeof sink.counter !== 'function' ||
    typeof sink.gauge !== 'function' ||
    typeof sink.histogram !== 'function'
  )
    throw invalid('bindMetrics needs a sink with counter, gauge and histogram');
  if (sinks.has(fastify.server))
    throw Object.assign(new Error('metrics: a sink is bound to this app already'), {
      code: 'HF_CORE_METRICS_BOUND_TWICE',
    });
  if (handedNoop.has(fastify.server))
    throw Object.assign(new Error('metrics: bind the sink before registering the plugins that report metrics'), {
      code: 'HF_CORE_METRICS_BOUND_LATE',
    });
  sinks.set(fastify.server, { sink, made: new Map() });
}

/** Whether a sink is bound to the app (a package may skip work that only feeds a metric). */
export function metricsBound(fastify: FastifyInstance): boolean {
  return sinks.has(fastify.server);
}

/**
 * The app's metrics: the bound sink, or the no-op. Names and labels are checked either way
 * (HF_CORE_INVALID_METRIC), so a bad name fails a package's own tests. Asking again for a name
 * with the same kind and labels gives the same metric; with others, an error.
 */
export function metrics(fastify: FastifyInstance): MetricsSink {
  const bound = sinks.get(fastify.server);
  if (!bound) handedNoop.add(fastify.server);
  const make = <T>(
    kind: 'counter' | 'gauge' | 'histogram',
    spec: MetricSpec<string> & { buckets?: readonly number[] },
    create: (sink: MetricsSink) => T,
  ): T => {
    check(spec, kind);
    if (!bound) return create(NOOP_METRICS);
    const labels = (spec.labelNames ?? []).join(',');
    const before = bound.made.get(spec.name);
    if (before) {
      if (before.kind !== kind || before.labels !== labels)
        throw invalid(`${spec.name} is already a ${before.kind} with labels [${before.labels}]`);
      return before.metric as T;
    }
    const metric = create(bound.sink);
    bound.made.set(spec.name, { kind, labels, metric });
    return metric;
  };
  return {
    counter: (spec) => make('counter', spec, (s) => s.counter(spec)),
    gauge: (spec) => make('gauge', spec, (s) => s.gauge(spec)),
    histogram: (spec) => make('histogram', spec, (s) => s.histogram(spec)),
  };
}

/**
 * How long a figure read from the database at scrape time is reused, ms: the gauges of one query
 * share it within a scrape (their collects run together), and two scrapers (a Prometheus pair)
 * close together cost one query. Scrapes come every 15 s or more: a longer cache would save
 * nothing and show older figures.
 */
export const SCRAPE_CACHE_MS = 1000;

/**
 * `load` run at most once every `ms` (its promise shared meanwhile; a failure is not kept): for
 * gauges read from the database at scrape time, so several scrapers, or several gauges of one
 * query, cost one query per period.
 */
export function cachedFor<T>(
  ms: number,
  load: () => Promise<T>,
  now: () => number = () => Date.now(),
): () => Promise<T> {
  let held: { at: number; value: Promise<T> } | undefined;
  return () => {
    const t = now();
    if (held && t - held.at < ms) return held.value;
    const value = load();
    held = { at: t, value };
    value.catch(() => {
      if (held?.value === value) held = undefined;
    });
    return value;
  };
}

/**
 * A gauge per named figure of one `load` (one query, several gauges): each gauge's collect reads
 * its figure from the shared, cached result. Returns the gauges.
 */
export function gaugesFrom<K extends string>(
  sink: MetricsSink,
  load: () => Promise<Record<K, number>>,
  specs: Record<K, { name: string; help: string }>,
): Record<K, Gauge> {
  const out = {} as Record<K, Gauge>;
  for (const key of Object.keys(specs) as K[]) {
    out[key] = sink.gauge({ ...specs[key], collect: async (g) => g.set((await load())[key]) });
  }
  return out;
}
