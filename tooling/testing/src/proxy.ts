import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  /** Connections accepted and closed at once while cut (not those refused while stopped), since the proxy started. */
  readonly refused: number;
  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string;
  /**
   * The outage: every open connection is cut and new ones are refused. By default a new connection
   * is accepted and closed at once (a balancer whose backend is gone); with `stopped` the port is
   * closed, so connecting fails with ECONNREFUSED (the server process stopped).
   */
  cut(options?: { stopped?: boolean }): void;
  /** The service is back (after `stopped`, once the port listens again: await it). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP proxy of a test's own between the code under test and a shared service (Postgres, Redis),
 * so an outage can be made without stopping the machine's service, which other test files use at
 * the same time.
 */
export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let refused = 0;
  let stopped: Promise<void> | null = null;
  const accept = (client: Socket) => {
    if (refusing) {
      refused++;
      return void client.destroy();
    }
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const listen = (server: Server, port: number) =>
    new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  let server = createServer(accept);
  await listen(server, 0);
  const port = (server.address() as { port: number }).port;
  const drop = () => {
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    port,
    get refused() {
      return refused;
    },
    through(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut(options = {}) {
      refusing = true;
      if (options.stopped && !stopped) {
        const closing = server;
        stopped = new Promise((resolve) => closing.close(() => resolve()));
      }
      drop();
    },
    async restore() {
      if (stopped) {
        await stopped;
        stopped = null;
        server = createServer(accept);
        await listen(server, port);
      }
      refusing = false;
    },
    async close() {
      refusing = true;
      drop();
      if (stopped) await stopped;
      else await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
