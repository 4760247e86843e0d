// Issue 31 item 3: a first connection that fails says which database, host and port, and the fix,
// as an HF_DB_* error; the URL's password never appears (message, serialized error, String()).
// Against the real Postgres of TEST_DATABASE_URL; the wrong password against a server of the
// test's own that speaks the protocol's startup (the local Postgres trusts 127.0.0.1).
import { checkConnection, DatabaseError } from '@harakaflow/db';
import { serializeError } from '@harakaflow/core';
import { createServer, type Server } from 'node:net';
import { freePort, postgresUrl } from '../../../tooling/testing/src/index.js';
import { afterEach, describe, expect, it } from 'vitest';

const PASSWORD = 'pw-never-shown-7f3a9c';
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** `url` with this user, password, database, host or port. */
function variant(base: string, change: { user?: string; database?: string; host?: string; port?: number }): string {
  const url = new URL(base);
  if (change.user !== undefined) url.username = change.user;
  url.password = PASSWORD;
  if (change.database !== undefined) url.pathname = `/${change.database}`;
  if (change.host !== undefined) url.hostname = change.host;
  if (change.port !== undefined) url.port = String(change.port);
  return url.toString();
}

async function failure(url: string, name?: string): Promise<DatabaseError> {
  const error = await checkConnection(url, { name, timeoutSeconds: 5 }).then(
    () => {
      throw new Error('connected');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatabaseError);
  const e = error as DatabaseError;
  // The password nowhere: message, serialized (what a log line holds), String(), the cause's message.
  for (const text of [e.message, JSON.stringify(serializeError(e)), String(e), String((e.cause as Error | undefined)?.message)]) expect(text).not.toContain(PASSWORD);
  return e;
}

/** A server that answers any startup with ErrorResponse 28P01, as Postgres does for a wrong password. */
async function refusingLogin(): Promise<number> {
  const server = createServer((socket) => {
    socket.once('data', () => {
      const fields = Buffer.from('SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "app"\0\0');
      const header = Buffer.alloc(5);
      header.write('E', 0);
      header.writeInt32BE(fields.length + 4, 1);
      socket.end(Buffer.concat([header, fields]));
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('checkConnection', () => {
  it('names a wrong password with the user, database, host and port (28P01), never the password', async () => {
    const port = await refusingLogin();
    const e = await failure(`postgres://app:${PASSWORD}@127.0.0.1:${port}/harakaflow`, 'DATABASE_URL');
    expect(e.code).toBe('HF_DB_AUTH_FAILED');
    expect(e.message).toBe(`password authentication failed for user app (database harakaflow on 127.0.0.1:${port}): fix the user or password in DATABASE_URL`);
  });

  it('names a closed port: connection refused on host:port, with the database', async () => {
    const port = await freePort();
    const e = await failure(`postgres://app:${PASSWORD}@127.0.0.1:${port}/harakaflow`, 'DATABASE_URL');
    expect(e.code).toBe('HF_DB_CONNECTION_REFUSED');
    expect(e.message).toBe(`connection refused on 127.0.0.1:${port} (database harakaflow): start Postgres there or fix the host and port in DATABASE_URL`);
  });

  it('names a host that does not resolve', async () => {
    const e = await failure(`postgres://app:${PASSWORD}@no-such-host.invalid:5433/harakaflow`, 'MIGRATION_DATABASE_URL');
    expect(e.code).toBe('HF_DB_HOST_UNKNOWN');
    expect(e.message).toBe('unknown host no-such-host.invalid (database harakaflow, port 5433): fix the host in MIGRATION_DATABASE_URL');
  });

  it('refuses a URL that is not postgres:// before connecting', async () => {
    await expect(checkConnection(`mysql://app:${PASSWORD}@127.0.0.1/x`)).rejects.toMatchObject({ code: 'HF_DB_INVALID_OPTION', message: expect.not.stringContaining(PASSWORD) });
  });

  describe.skipIf(!postgresUrl)('against real Postgres', () => {
    const server = postgresUrl ? new URL(postgresUrl) : new URL('postgres://postgres@127.0.0.1:5432/x');
    const where = `${server.hostname}:${server.port || 5432}`;

    it('resolves when the database answers', async () => {
      await expect(checkConnection(postgresUrl!)).resolves.toBeUndefined();
    });

    it('names a database that does not exist on host:port (3D000), with the fix', async () => {
      const e = await failure(variant(postgresUrl!, { database: 'newuser_x' }), 'DATABASE_URL');
      expect(e.code).toBe('HF_DB_DATABASE_MISSING');
      expect(e.message).toMatch(new RegExp(`^database newuser_x does not exist on ${where.replace(/\./g, '\\.')}: create it \\(createdb .*newuser_x\\) or fix DATABASE_URL$`));
    });

    it('names a role the server refuses (28000)', async () => {
      const e = await failure(variant(postgresUrl!, { user: 'no_such_role_31' }), 'DATABASE_URL');
      expect(e.code).toBe('HF_DB_AUTH_FAILED');
      expect(e.message).toContain(`user no_such_role_31 may not connect to database ${decodeURIComponent(server.pathname.slice(1))} on ${where}`);
      expect(e.message).toContain('fix DATABASE_URL');
    });
  });
});
