// Issue 31 item 1, "A quickstart that talks": src/server.ts on a terminal (a pty from util-linux
// `script`) says in plain lines where it listens, /privacy and /docs, the database, where the
// development admin key is kept (the file, never the key) and a curl that creates an account: the
// printed commands are run as printed. In production it prints no secret and no curl. Piped, the
// same facts are fields of the JSON ready line. Item 3: a database it cannot reach is one plain
// line with the fix and exit 1, without the URL's password.
import { fromDist, postgresUrl, seedPglite, until } from '@harakaflow/testing';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { productionEnv } from '../src/config/load.js';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fromDist(join(cwd, 'src/server.ts'));
const hasScript = spawnSync('script', ['--version']).status === 0;
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const children: ChildProcess[] = [];
const dirs: string[] = [];

/** Every process under `pid` (the server under `script` runs in a session of its own, out of its group). */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const parents = table
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  for (let queue = [pid]; queue.length;) {
    const parent = queue.shift()!;
    for (const [child, of] of parents) {
      if (of !== parent) continue;
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || !child.pid) continue;
    const under = descendants(child.pid);
    try {
      process.kill(-child.pid, 'SIGKILL'); // the detached group: `script`, or the server itself
    } catch {
      // already gone
    }
    for (const pid of under) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-quickstart-'));
  dirs.push(dir);
  return dir;
}

interface Started {
  output: () => string;
  exited: Promise<number | null>;
}

/** The server, its stdout a terminal (`tty`) or a pipe. */
function start(env: Record<string, string>, tty: boolean): Started {
  const fullEnv = { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env };
  const command = [process.execPath, ...SERVER].map((a) => `'${a}'`).join(' ');
  const child = tty
    ? spawn('script', ['-qefc', command, '/dev/null'], {
        cwd,
        env: fullEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      })
    : spawn(process.execPath, SERVER, { cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk).replace(/\r\n/g, '\n')));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { output: () => output, exited };
}

/** Waits for `pattern` in the output (up to 120 s: compiling the sources and creating PGlite on a loaded 2-core machine). */
async function said(server: Started, pattern: RegExp): Promise<RegExpExecArray> {
  await until(() => pattern.test(server.output()), 120_000).catch(() => {
    throw new Error(`never said ${pattern}: ${server.output()}`);
  });
  return pattern.exec(server.output())!;
}

const sh = (command: string) => execFileSync('sh', ['-c', command], { encoding: 'utf8' });

describe.skipIf(!hasScript || !hasCurl)('src/server.ts on a terminal', () => {
  it('in development: plain lines with /privacy, /docs, the database, the admin key file; the printed curl creates an account and /v1/me answers', async () => {
    const dataDir = tempDir();
    const server = start({ DATA_DIR: dataDir }, true);
    const [, url] = await said(server, /HarakaFlow API ready on (http:\/\/127\.0\.0\.1:\d+)\n/);
    const [, create, me] = await said(
      server,
      /Create an account, then call \/v1\/me with the apiKey it answers:\n {2}(curl .+)\n {2}(curl .+)\n/,
    );
    const out = server.output();
    expect(out).toContain(`  privacy centre  ${url}/privacy\n`);
    expect(out).toContain(`  API docs        ${url}/docs\n`);
    expect(out).toContain(`  database        PGlite in ${join(dataDir, 'pglite')}\n`);
    expect(out).toContain(`  mail            .eml files in ${join(dataDir, 'outbox')} (no SMTP_URL)\n`);
    // The startup lines are plain, not JSON.
    expect(out).not.toMatch(/^\{.*HarakaFlow API (starting|ready)/m);
    expect(out).toContain('HarakaFlow API starting: opening PGlite');

    // The admin key: the file that holds it, and a command that prints it; never the key.
    const file = join(dataDir, 'secrets.json');
    const [, printIt] = await said(
      server,
      new RegExp(
        `  admin key {7}ADMIN_API_KEY in ${file.replace(/[.]/g, '\\.')} \\(generated for development; print it: (node -p .+)\\)\n`,
      ),
    );
    const adminKey = (JSON.parse(readFileSync(file, 'utf8')) as { ADMIN_API_KEY: string }).ADMIN_API_KEY;
    expect(adminKey.length).toBeGreaterThanOrEqual(32);
    expect(out).not.toContain(adminKey);
    expect(sh(printIt!).trim()).toBe(adminKey);

    // The curls, run as printed.
    const created = JSON.parse(sh(create!)) as { apiKey: string; account: { email: string } };
    expect(created.account.email).toBe('ada@example.com');
    const answer = JSON.parse(sh(me!.replace('<apiKey from the answer>', created.apiKey))) as {
      account: { email: string };
    };
    expect(answer.account.email).toBe('ada@example.com');
  }, 600_000); // a hang guard, not a measurement

  it('in production: no secret value, the admin key named by its variable, no curl, no /docs (OPENAPI_PUBLIC unset)', async () => {
    const secrets = parseEnv(productionEnv()) as Record<string, string>;
    const dataDir = tempDir();
    await seedPglite(join(dataDir, 'pglite')); // not a first start: the one above is
    const server = start(
      { ...secrets, DATA_DIR: dataDir, PUBLIC_URL: 'https://api.harakaflow.test', NOTIFY_TRANSPORT: 'eml' },
      true,
    );
    const [, url] = await said(server, /HarakaFlow API ready on (http:\/\/127\.0\.0\.1:\d+)\n(?:.*\n)*? {2}mail .*\n/);
    const out = server.output();
    expect(out).toContain('  admin key       ADMIN_API_KEY from the environment\n');
    expect(out).toContain(`  privacy centre  ${url}/privacy\n`);
    expect(out).not.toContain('/docs');
    expect(out).not.toContain('curl');
    for (const [name, value] of Object.entries(secrets)) if (name !== 'NODE_ENV') expect(out).not.toContain(value);
  }, 600_000); // a hang guard, not a measurement
});

describe('src/server.ts with its output piped', () => {
  it.skipIf(!hasCurl)(
    'says the same facts as fields of the JSON ready line; the README quickstart works against it',
    async () => {
      const dataDir = tempDir();
      const server = start({ DATA_DIR: dataDir }, false);
      const [line] = await said(server, /^\{.*"msg":"HarakaFlow API ready on .*\}$/m);
      const ready = JSON.parse(line) as Record<string, string>;
      expect(ready).toMatchObject({
        database: 'pglite',
        databaseAt: `PGlite in ${join(dataDir, 'pglite')}`,
        privacyCentre: `${ready.url}/privacy`,
        docs: `${ready.url}/docs`,
        adminKey: expect.stringContaining(`ADMIN_API_KEY in ${join(dataDir, 'secrets.json')}`),
        createAccount: expect.stringContaining(`curl -s -X POST ${ready.url}/v1/accounts`),
      });

      // The README's quickstart, its account and /v1/me lines run as written (the address this server got).
      const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
      const quickstart = /```sh\n([^`]*)```/.exec(readme)![1]!.split('\n');
      expect(quickstart[0]).toMatch(/^npx pnpm@10 install && npx pnpm@10 start /);
      expect(quickstart[3]).toMatch(/^# then open http:\/\/127\.0\.0\.1:3000\/privacy /);
      expect(quickstart[4]).toMatch(/^# stop the API .*, then: npx pnpm@10 hf-audit verify /);
      expect(quickstart[5]).toMatch(/^npx pnpm@10 install && npx pnpm@10 test /);
      const me = JSON.parse(sh(quickstart.slice(1, 3).join('\n').replaceAll('http://127.0.0.1:3000', ready.url!))) as {
        account: { email: string };
      };
      expect(me.account.email).toBe('ada@example.com');

      // Its next line: the API stopped, `hf-audit verify` (the script runs tooling/run.mjs on the CLI
      // with DATA_DIR) finds the chains of what was just done intact.
      process.kill(children.at(-1)!.pid!, 'SIGTERM');
      expect(await server.exited).toBe(0);
      const root = fileURLToPath(new URL('../../..', import.meta.url));
      const verify = spawnSync(process.execPath, ['tooling/run.mjs', 'packages/audit/dist/cli.js', 'verify'], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
        encoding: 'utf8',
      });
      expect(verify.status, verify.stderr).toBe(0);
      // At least the account's creation and its /v1/me: events of this run, not an empty log.
      expect(
        Number(/^audit chain intact: \d+ segment\(s\), (\d+) event\(s\)/m.exec(verify.stdout)?.[1]),
      ).toBeGreaterThanOrEqual(2);
    },
    600_000,
  ); // a hang guard, not a measurement
});

describe('src/server.ts and a database it cannot use', () => {
  const PASSWORD = 'pw-never-printed-31';

  async function refused(databaseUrl: string): Promise<string> {
    const server = start({ DATA_DIR: tempDir(), DATABASE_URL: databaseUrl }, false);
    expect(await server.exited).toBe(1);
    const out = server.output();
    expect(out).not.toContain(PASSWORD);
    // One plain line, no stack.
    expect(out).not.toMatch(/\n\s+at /);
    return out;
  }

  it('a closed port: connection refused on host:port, plainly, exit 1', async () => {
    const { freePort } = await import('@harakaflow/testing');
    const port = await freePort();
    const out = await refused(`postgres://app:${PASSWORD}@127.0.0.1:${port}/harakaflow`);
    expect(out).toContain(
      `HarakaFlow API not started: connection refused on 127.0.0.1:${port} (database harakaflow): start Postgres there or fix the host and port in DATABASE_URL (HF_DB_CONNECTION_REFUSED)\n`,
    );
  }, 600_000); // a hang guard, not a measurement

  it('a password with an unencoded /: neither the starting line nor the refusal names any of it (once "connecting to Postgres app:12/<password>@...")', async () => {
    const { freePort } = await import('@harakaflow/testing');
    const out = await refused(`postgres://app:12/${PASSWORD}@127.0.0.1:${await freePort()}/hf`);
    expect(out).toContain('HarakaFlow API starting: connecting to Postgres (DATABASE_URL) and applying migrations');
    expect(out).toMatch(
      /HarakaFlow API not started: DATABASE_URL cannot be read as one URL: .*percent-encode .*: fix DATABASE_URL \(HF_DB_URL_INVALID\)\n/,
    );
    for (const piece of ['12/', 'pw-never', 'app:']) expect(out).not.toContain(piece);
  }, 600_000); // a hang guard, not a measurement

  it.skipIf(!postgresUrl)(
    'a database that does not exist on the real server: named with its host and port, exit 1',
    async () => {
      const url = new URL(postgresUrl!);
      url.password = PASSWORD;
      url.pathname = '/newuser_x';
      const out = await refused(url.toString());
      expect(out).toMatch(
        new RegExp(
          `HarakaFlow API not started: database newuser_x does not exist on ${url.hostname.replace(/\./g, '\\.')}:${url.port || 5432}: create it .* or fix DATABASE_URL \\(HF_DB_DATABASE_MISSING\\)\n`,
        ),
      );
    },
    600_000,
  ); // a hang guard, not a measurement

  it('a PGlite directory another process holds (a CLI): says which process, plainly, exit 1', async () => {
    const { createDatabase } = await import('@harakaflow/db');
    const dataDir = tempDir();
    await seedPglite(join(dataDir, 'pglite'));
    const held = await createDatabase({ dataDir: join(dataDir, 'pglite') });
    try {
      const server = start({ DATA_DIR: dataDir }, false);
      expect(await server.exited).toBe(1);
      const out = server.output();
      expect(out).toMatch(
        new RegExp(`HarakaFlow API not started: .*process ${process.pid}.* \\(HF_DB_DATA_DIR_IN_USE\\)\n`),
      );
      expect(out).not.toContain('startup failed');
      expect(out).not.toMatch(/\n\s+at /);
    } finally {
      await held.close();
    }
  }, 600_000); // a hang guard, not a measurement

  it('production without SMTP_URL or NOTIFY_TRANSPORT=eml: not started, saying so', async () => {
    const server = start(
      {
        ...(parseEnv(productionEnv()) as Record<string, string>),
        DATA_DIR: tempDir(),
        PUBLIC_URL: 'https://api.harakaflow.test',
      },
      false,
    );
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain(
      'HarakaFlow API not started: invalid configuration:\n  - SMTP_URL is required when NODE_ENV=production',
    );
    expect(server.output()).toContain('set NOTIFY_TRANSPORT=eml instead');
  }, 600_000); // a hang guard, not a measurement
});
