import { createDatabase } from '@harakaflow/db';
import { noDelaySocketOption } from '../src/socket.js';
import postgres3 from 'postgres';
// @ts-expect-error: the 4.x copy installed under an alias (see tooling/testing/vitest.config.ts) has its types elsewhere.
import postgres4 from '../node_modules/postgres-v4/src/index.js';
import { postgresUrl } from '../../../tooling/testing/src/index.js';
import { sql } from 'drizzle-orm';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';

const target = postgresUrl ? new URL(postgresUrl) : undefined;
/** The test database's URL with another host and port (and query). */
const via = (hostPort: string, query = '') => {
  const url = new URL(postgresUrl!);
  return `postgres://${url.username ? `${url.username}@` : ''}${hostPort}${url.pathname}${query}`;
};

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Postgres behind TLS, as a managed database offers it: answers the SSLRequest with 'S', completes
 * the handshake with a self-signed certificate for `localhost`, then relays the plaintext to the
 * test database. Remembers the SNI name each client sent.
 */
async function tlsInFront() {
  const dir = mkdtempSync(join(tmpdir(), 'hf-pg-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const context = tls.createSecureContext({
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
  });
  const servernames: (string | false)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('data', (request) => {
      // SSLRequest: length 8, code 80877103.
      if (request.length !== 8 || request.readInt32BE(4) !== 80877103) return client.destroy();
      client.write('S');
      const secure = new tls.TLSSocket(client, { isServer: true, secureContext: context });
      secure.once('secure', () =>
        servernames.push((secure as tls.TLSSocket & { servername: string | false }).servername),
      );
      const upstream = net.connect(Number(target!.port || 5432), target!.hostname);
      sockets.add(upstream);
      secure.pipe(upstream).pipe(secure);
      const end = () => {
        secure.destroy();
        upstream.destroy();
      };
      secure.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    servernames,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('TCP_NODELAY on postgres.js 3 (socket factory)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives postgres.js 4 no factory (it sets TCP_NODELAY itself and calls factories differently)', () => {
    expect(noDelaySocketOption(postgres4 as never)).toEqual({});
    expect(typeof noDelaySocketOption(postgres3 as never).socket).toBe('function');
  });

  it('takes the hosts of a multi-host URL in turn and sends a Unix socket path as it is', () => {
    const { socket } = noDelaySocketOption(postgres3 as never);
    const seen: unknown[] = [];
    const connect = vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (
      this: net.Socket,
      ...args: unknown[]
    ) {
      seen.push(args);
      return this;
    } as never);
    const options = { host: ['a.example', 'b.example'], port: [5433, 5434] };
    const first = socket!(options);
    socket!(options);
    socket!(options);
    socket!({ host: ['x'], port: [5432], path: '/run/postgresql/.s.PGSQL.5432' });
    expect(seen).toEqual([
      [5433, 'a.example'],
      [5434, 'b.example'],
      [5433, 'a.example'],
      ['/run/postgresql/.s.PGSQL.5432'],
    ]);
    expect(first).toMatchObject({ host: 'a.example', port: 5433 });
    connect.mockRestore();
  });

  it.skipIf(!postgresUrl)(
    'opens the pool and the health probe with TCP_NODELAY, and queries work through them',
    async () => {
      const noDelay = vi.spyOn(net.Socket.prototype, 'setNoDelay');
      const handle = await createDatabase({ url: postgresUrl, max: 2 });
      try {
        expect(await handle.db.execute(sql`select 1 as one`)).toEqual([{ one: 1 }]);
        expect(await handle.ping()).toBe(true);
        // postgres.js 3 never calls setNoDelay itself: these calls are the factory's, one per socket (pool, probe).
        const enabled = noDelay.mock.calls.filter(([on]) => on === true).length;
        expect(enabled).toBeGreaterThanOrEqual(2);
      } finally {
        await handle.close();
      }
    },
  );

  it.skipIf(!postgresUrl)('fails over to the next host of a multi-host URL', async () => {
    const dead = await closedPort();
    const handle = await createDatabase({
      url: via(`127.0.0.1:${dead},${target!.hostname}:${target!.port || 5432}`),
      max: 1,
    });
    try {
      expect(await handle.db.execute(sql`select 2 as two`)).toEqual([{ two: 2 }]);
    } finally {
      await handle.close();
    }
  });

  it.skipIf(!postgresUrl)(
    'upgrades to TLS on its own socket, sending the host name (SNI) as postgres.js does',
    async () => {
      const front = await tlsInFront();
      const handle = await createDatabase({ url: via(`localhost:${front.port}`, '?sslmode=require'), max: 1 });
      try {
        expect(await handle.db.execute(sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`)).toEqual([
          { ssl: false },
        ]); // plaintext between the front and Postgres
        expect(front.servernames.length).toBeGreaterThanOrEqual(1);
        expect(front.servernames.every((name) => name === 'localhost')).toBe(true);
      } finally {
        await handle.close();
        await front.close();
      }
    },
  );
});
