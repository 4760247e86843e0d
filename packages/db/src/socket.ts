import net from 'node:net';

/** The part of postgres.js 3's parsed options its `socket` factory is called with. */
interface SocketTarget {
  host: string[];
  port: number[];
  path?: string | false | undefined;
}

/**
 * postgres.js 3 leaves Nagle's algorithm on. A message that follows a large one without waiting for
 * its answer (the CopyDone after a COPY's data, the Sync after a long Bind) then waits for the
 * server's delayed ACK: 40 to 90 ms on Linux. postgres.js 4 sets TCP_NODELAY itself.
 *
 * This returns the `socket` option that makes postgres.js 3 open its TCP connections with
 * TCP_NODELAY, or nothing for postgres.js 4 (whose factory contract differs and which needs none).
 * postgres.js 3 calls the factory for each connection attempt and, given one, neither connects the
 * socket nor rotates through the URL's hosts itself, so the factory does both: it starts the
 * connection and returns at once (postgres.js writes its startup or SSL request, buffered until
 * the connection is up; its connect timeout, TLS upgrade and error handling are unchanged), and
 * takes the hosts of a multi-host URL in turn, as postgres.js does. Unix sockets (`host=/dir`) are
 * connected as they are: Nagle does not apply to them.
 */
export function noDelaySocketOption(postgres: (options: Record<string, unknown>) => unknown): {
  socket?: (options: SocketTarget) => net.Socket;
} {
  if (!isMajor3(postgres)) return {};
  let attempt = 0;
  return {
    socket(options) {
      const socket = new net.Socket();
      if (options.path) return socket.connect(options.path);
      const index = attempt++ % options.port.length;
      const host = options.host[index] ?? options.host[0] ?? 'localhost';
      const port = options.port[index] ?? 5432;
      socket.setNoDelay(true);
      socket.connect(port, host);
      // postgres.js 3 reads these for a TLS upgrade's servername and its error messages.
      return Object.assign(socket, { host, port });
    },
  };
}

const majors = new WeakMap<object, boolean>();

/**
 * Whether this `postgres` function is postgres.js 3. Both majors export the same names, so it asks
 * a client made for the purpose (nothing connects until a query): postgres.js 4's options carry
 * `onread`, 3's do not.
 */
export function isMajor3(postgres: (options: Record<string, unknown>) => unknown): boolean {
  let known = majors.get(postgres);
  if (known === undefined) {
    const probe = postgres({ host: '127.0.0.1', port: 9, max: 1, onnotice: () => {} }) as {
      options?: object;
      end?: (o: object) => Promise<unknown>;
    };
    known = typeof probe.options === 'object' && probe.options !== null && !('onread' in probe.options);
    void probe.end?.({ timeout: 0 })?.catch(() => {});
    majors.set(postgres, known);
  }
  return known;
}
