/**
 * Metrics (issue 28 item 5): with METRICS_PORT set, core's metrics interface is bound to a
 * prom-client registry before the plugins register (each reports its own), the app adds what only
 * it sees (requests, the audit writer, the database pool), and Prometheus text is served at
 * `GET /metrics` on a listener of its own: HOST, METRICS_PORT, never the API's port, so it is not
 * public by accident. Unset: nothing is bound, no hook is added, nothing listens.
 *
 * Labels are route patterns and fixed values: never a URL, an account id, an IP, an email or a token.
 */
import { bindMetrics, metrics, serializeError, type Counter, type MetricsSink } from '@harakaflow/core';
import { poolUse, type DatabaseHandle } from '@harakaflow/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { AppConfig } from '../config/config.js';
import { errorBody } from '../http/error-shape.js';
import { prometheusSink } from './prometheus.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The Prometheus endpoint when METRICS_PORT is set, else null. */
    metricsEndpoint: MetricsEndpoint | null;
  }
}

export interface MetricsEndpoint {
  /** The Prometheus text a scrape gets (every collect run). */
  render(): Promise<string>;
  readonly contentType: string;
  /** Where the listener listens, once the app is ready. */
  address(): AddressInfo | null;
}

/** Seconds: 5 ms to 10 s (the request timeout's order). */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The route label of a request no route matched (its URL is never a label). */
export const UNMATCHED = 'unmatched';

/** The request histogram's onResponse hook: children bound per (route, method, status) on first use. */
export function requestMetrics(sink: MetricsSink) {
  const durations = sink.histogram({
    name: 'harakaflow_http_request_duration_seconds',
    help: 'Time to answer a request, by route pattern (unmatched: no route), method and status; _count counts requests',
    labelNames: ['route', 'method', 'status'],
    buckets: REQUEST_BUCKETS,
  });
  type Child = { observe(value: number): void };
  // Keyed by the route's config object (one per route, the 404 handler's included): no string is
  // built per request. Then method, then status (an array index).
  const routes = new WeakMap<object, Map<string, Child[]>>();
  const noConfig = {};
  return (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const options = request.routeOptions;
    const config = (options.config as object | undefined) ?? noConfig;
    let methods = routes.get(config);
    if (!methods) routes.set(config, (methods = new Map()));
    let statuses = methods.get(request.method);
    if (!statuses) methods.set(request.method, (statuses = []));
    const status = reply.statusCode;
    const child = (statuses[status] ??= durations.labels({
      route: options.url ?? UNMATCHED,
      method: request.method,
      status,
    }));
    child.observe(reply.elapsedTime / 1000);
    done();
  };
}

/** A counter fed at scrape time from a running total kept elsewhere (a restart of the total counts from 0). */
function fromTotal(read: () => number | undefined) {
  let last = 0;
  return (c: Counter) => {
    const v = read();
    if (v === undefined) return;
    if (v < last) last = 0;
    if (v > last) c.inc(undefined, v - last);
    last = v;
  };
}

/** The audit writer's state, read at scrape time (health(), and writer.stats for every dropped event). */
function auditMetrics(app: FastifyInstance, sink: MetricsSink): void {
  const health = () => (app.hasDecorator('audit') ? app.audit.health() : undefined);
  const stats = () => (app.hasDecorator('audit') ? app.audit.writer.stats : undefined);
  sink.gauge({
    name: 'harakaflow_audit_backlog_events',
    help: 'Audit events waiting in memory to be written (not yet committed or spilled)',
    collect: (g) => g.set(health()?.backlog ?? 0),
  });
  sink.gauge({
    name: 'harakaflow_audit_spilled_bytes',
    help: 'Bytes of audit events spilled to local files while Postgres was away, waiting to be replayed',
    collect: (g) => g.set(health()?.spilledBytes ?? 0),
  });
  sink.gauge({
    name: 'harakaflow_audit_oldest_pending_seconds',
    help: 'Age of the oldest audit event not yet committed (0 when none)',
    collect: (g) => g.set((health()?.oldestPendingMs ?? 0) / 1000),
  });
  sink.counter({
    name: 'harakaflow_audit_dropped_events_total',
    help: 'Access events dropped because the spill directory was full while Postgres was away (declared as a gap in the chain)',
    collect: fromTotal(() => stats()?.dropped),
  });
  sink.counter({
    name: 'harakaflow_audit_write_failures_total',
    help: 'Audit batch writes that failed (retried with backoff, then spilled)',
    collect: fromTotal(() => health()?.writeFailures),
  });
}

function poolMetrics(sink: MetricsSink, database: DatabaseHandle): void {
  const use = poolUse(database);
  sink.gauge({
    name: 'harakaflow_db_pool_size',
    help: 'Connections the database pool may open (PGlite: 1)',
    collect: (g) => g.set(use().size),
  });
  sink.gauge({
    name: 'harakaflow_db_operations_in_flight',
    help: 'Statements and transactions sent to the database and not yet settled; above the pool size, work waits for a connection',
    collect: (g) => g.set(use().inFlight),
  });
}

const json = (res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}) =>
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
    .end(JSON.stringify(body));

/**
 * Binds the sink (before the plugins register), adds the app's own metrics and the listener (started when the app is
 * ready).
 */
export function setupMetrics(app: FastifyInstance, config: AppConfig, database: DatabaseHandle): MetricsEndpoint {
  const registry = new Registry();
  const lastLogged = new Map<string, number>();
  const sink = prometheusSink(registry, (metric, error) => {
    collectFailures.inc({ metric });
    if (Date.now() - (lastLogged.get(metric) ?? 0) < 60_000) return;
    lastLogged.set(metric, Date.now());
    app.log.warn(
      { metric, err: serializeError(error) },
      'metrics: a metric could not be read at scrape time; it keeps its last value',
    );
  });
  bindMetrics(app, sink);
  const m = metrics(app);
  const collectFailures = m.counter({
    name: 'harakaflow_metrics_collect_failures_total',
    help: 'Scrapes at which a metric could not be read (a database query failed); it kept its last value',
    labelNames: ['metric'],
  });
  app.addHook('onResponse', requestMetrics(m));
  auditMetrics(app, m);
  poolMetrics(m, database);

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics')
      return json(res, 404, errorBody(404, 'HF_NOT_FOUND', 'Only GET /metrics is served on this port'));
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(
        res,
        405,
        { ...errorBody(405, 'HF_METHOD_NOT_ALLOWED', 'Metrics are read with GET'), error: 'Method Not Allowed' },
        { allow: 'GET, HEAD' },
      );
    registry.metrics().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        app.log.error({ err: serializeError(error) }, 'metrics: the scrape failed');
        json(res, 500, errorBody(500, 'HF_INTERNAL', 'The metrics could not be rendered'));
      },
    );
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;

  app.addHook('onReady', async () => {
    server.listen(config.metricsPort, config.host);
    try {
      await once(server, 'listening');
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unknown';
      throw Object.assign(new Error(`METRICS_PORT: cannot listen on ${config.host}:${config.metricsPort} (${code})`), {
        code: 'HF_METRICS_LISTEN_FAILED',
        cause: error,
      });
    }
    app.log.info(
      { port: (server.address() as AddressInfo).port },
      'metrics: Prometheus text at GET /metrics on its own port',
    );
  });
  app.addHook('onClose', async () => {
    if (!server.listening) return;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  });

  return {
    render: () => registry.metrics(),
    contentType: registry.contentType,
    address: () => (server.listening ? (server.address() as AddressInfo) : null),
  };
}
