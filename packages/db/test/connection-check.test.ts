// Issue 31 item 3: a first connection that fails says which database, host and port, and the fix,
// as an HF_DB_* error; the URL's password never appears (message, serialized error, String()).
// Against the real Postgres of TEST_DATABASE_URL; the wrong password against a server of the
// test's own that speaks the protocol's startup (the local Postgres trusts 127.0.0.1).
// A password with an unencoded @ or / once became part of the host, port or database a message
// named: such a URL is refused (HF_DB_URL_INVALID) before any parse, naming no part of it. The
// property over random passwords is in apps/api/test/database-url.test.ts (fast-check lives there).
import { checkConnection, describeDatabaseUrl } from '@harakaflow/db';
import { DatabaseError } from '@harakaflow/db/internals';
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
  for (const text of [
    e.message,
    JSON.stringify(serializeError(e)),
    String(e),
    String((e.cause as Error | undefined)?.message),
  ])
    expect(text).not.toContain(PASSWORD);
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
    expect(e.message).toBe(
      `password authentication failed for user app (database harakaflow on 127.0.0.1:${port}): fix the user or password in DATABASE_URL`,
    );
  });

  it('names a closed port: connection refused on host:port, with the database', async () => {
    const port = await freePort();
    const e = await failure(`postgres://app:${PASSWORD}@127.0.0.1:${port}/harakaflow`, 'DATABASE_URL');
    expect(e.code).toBe('HF_DB_CONNECTION_REFUSED');
    expect(e.message).toBe(
      `connection refused on 127.0.0.1:${port} (database harakaflow): start Postgres there or fix the host and port in DATABASE_URL`,
    );
  });

  it('names a host that does not resolve', async () => {
    const e = await failure(
      `postgres://app:${PASSWORD}@no-such-host.invalid:5433/harakaflow`,
      'MIGRATION_DATABASE_URL',
    );
    expect(e.code).toBe('HF_DB_HOST_UNKNOWN');
    expect(e.message).toBe(
      'unknown host no-such-host.invalid (database harakaflow, port 5433): fix the host in MIGRATION_DATABASE_URL',
    );
  });

  it('refuses a URL that is not postgres:// before connecting', async () => {
    await expect(checkConnection(`mysql://app:${PASSWORD}@127.0.0.1/x`)).rejects.toMatchObject({
      code: 'HF_DB_INVALID_OPTION',
      message: expect.not.stringContaining(PASSWORD),
    });
  });

  it('refuses a password with an unencoded @ (several hosts) without naming any of it', async () => {
    const port = await freePort();
    const url = `postgres://app:S3cr@tPW@127.0.0.1:${port},127.0.0.1:5998/hf`;
    const e = await failure(url, 'DATABASE_URL');
    expect(e.code).toBe('HF_DB_URL_INVALID');
    for (const piece of ['S3cr', 'tPW', 'app:']) expect(e.message).not.toContain(piece);
    expect(e.message).toMatch(
      /^DATABASE_URL cannot be read as one URL: .*percent-encode them in the password \(@ as %40, \/ as %2F.*: fix DATABASE_URL$/,
    );
    expect(e.cause).toBeUndefined();
  });

  it('refuses a password with an unencoded / (once the port 12 and the database S3cretPW@...)', async () => {
    const e = await failure(`postgres://app:12/S3cretPW@127.0.0.1:${await freePort()}/hf`, 'DATABASE_URL');
    expect(e.code).toBe('HF_DB_URL_INVALID');
    for (const piece of ['S3cretPW', '12/', 'port 12', 'app']) expect(e.message).not.toContain(piece);
  });

  it('refuses ? and # before the last @, and a % that starts no escape; accepts the same passwords percent-encoded', async () => {
    const port = await freePort();
    for (const password of ['a?b-Secret', 'a#b-Secret', 'a%zz-Secret', 'a@b/c?d#e%f-Secret']) {
      const e = await failure(`postgres://app:${password}@127.0.0.1:${port}/hf`, 'DATABASE_URL');
      expect(e.code).toBe('HF_DB_URL_INVALID');
      expect(e.message).not.toContain('Secret');
      // Percent-encoded, the same password reaches the server (here: nothing listens).
      const encoded = await failure(
        `postgres://app:${encodeURIComponent(password)}@127.0.0.1:${port}/hf`,
        'DATABASE_URL',
      );
      expect(encoded.code).toBe('HF_DB_CONNECTION_REFUSED');
      expect(encoded.message).toBe(
        `connection refused on 127.0.0.1:${port} (database hf): start Postgres there or fix the host and port in DATABASE_URL`,
      );
      expect(encoded.message).not.toContain('Secret');
    }
  });

  describe('describeDatabaseUrl', () => {
    it('reads user, hosts, ports and database as written, with the defaults, and a label without the password', () => {
      expect(describeDatabaseUrl(`postgres://app:${PASSWORD}@db.internal:6543/harakaflow?sslmode=require`)).toEqual({
        user: 'app',
        host: 'db.internal',
        port: 6543,
        hosts: [{ host: 'db.internal', port: 6543 }],
        database: 'harakaflow',
        label: 'app@db.internal:6543/harakaflow',
      });
      expect(
        describeDatabaseUrl(`postgresql://a%40corp:${encodeURIComponent('p@ss/w?d#')}@h1,[::1]:5433/my%20db`),
      ).toMatchObject({
        user: 'a@corp',
        host: 'h1',
        port: 5432,
        hosts: [
          { host: 'h1', port: 5432 },
          { host: '::1', port: 5433 },
        ],
        database: 'my db',
        label: 'a@corp@h1:5432,[::1]:5433/my db',
      });
      expect(describeDatabaseUrl('postgres://')).toMatchObject({
        user: undefined,
        host: 'localhost',
        port: 5432,
        database: undefined,
        label: 'localhost:5432/',
      });
    });

    it('refuses an ambiguous URL, a bad escape or a bad port as HF_DB_URL_INVALID, another scheme as HF_DB_INVALID_OPTION', () => {
      for (const url of [
        'postgres://app:a@b@h/db',
        'postgres://app:a/b@h/db',
        'postgres://app:a?b@h/db',
        'postgres://app:a#b@h/db',
        'postgres://h/db?application_name=me@x',
        'postgres://app:%g1@h/db',
        'postgres://h:5x/db',
        'postgres://h:70000/db',
      ]) {
        expect(() => describeDatabaseUrl(url, { name: 'DATABASE_URL' }), url).toThrow(
          expect.objectContaining({
            code: 'HF_DB_URL_INVALID',
            message: expect.stringMatching(/^DATABASE_URL .*: fix DATABASE_URL$/),
          }),
        );
      }
      expect(() => describeDatabaseUrl(`mysql://app:${PASSWORD}@h/db`)).toThrow(
        expect.objectContaining({ code: 'HF_DB_INVALID_OPTION' }),
      );
    });

    it('keeps a user, host or database that holds the password (postgres:postgres) in the label: it is shown on purpose', () => {
      expect(describeDatabaseUrl('postgres://postgres:postgres@localhost/postgres').label).toBe(
        'postgres@localhost:5432/postgres',
      );
    });
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
      expect(e.message).toMatch(
        new RegExp(
          `^database newuser_x does not exist on ${where.replace(/\./g, '\\.')}: create it \\(createdb .*newuser_x\\) or fix DATABASE_URL$`,
        ),
      );
    });

    it('names a role the server refuses (28000)', async () => {
      const e = await failure(variant(postgresUrl!, { user: 'no_such_role_31' }), 'DATABASE_URL');
      expect(e.code).toBe('HF_DB_AUTH_FAILED');
      expect(e.message).toContain(
        `user no_such_role_31 may not connect to database ${decodeURIComponent(server.pathname.slice(1))} on ${where}`,
      );
      expect(e.message).toContain('fix DATABASE_URL');
    });
  });
});
