// The real entry point, as `pnpm start` runs it, in a child process: startup refusal in production,
// SIGTERM shutdown, persistence across a restart on embedded PGlite (from the transpiled dist, as
// `start` runs it), and real Postgres by DATABASE_URL (from the sources, under tsx).
import { fromDist, postgresUrl, testDatabase } from '@harakaflow/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const cwd = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Server {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string>, args = fromDist(join(cwd, 'src/server.ts'))): Server {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function listening(server: Server): Promise<string> {
  // Up to 90 s: compiling the sources and starting PGlite is slow on a loaded 2-core machine.
  for (let i = 0; i < 1800; i++) {
    const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output());
    if (match && server.output().includes('HarakaFlow API ready')) return match[1]!;
    if (server.child.exitCode !== null) throw new Error(`server exited: ${server.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not start: ${server.output()}`);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-server-'));
  dirs.push(dir);
  return dir;
}

describe('src/server.ts', () => {
  it('refuses to start in production without its secrets, naming each, with exit code 1', async () => {
    const server = start({ NODE_ENV: 'production', DATA_DIR: tempDir() });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('ADMIN_API_KEY is required when NODE_ENV=production');
  });

  it('refuses a bad variable, naming it', async () => {
    const server = start({ PORT: 'eighty', DATA_DIR: tempDir() });
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('PORT must be an integer');
  });

  it('runs as `npx pnpm@10 start` runs it (transpiled, then dist/server.js) on PGlite under DATA_DIR, says what it does, shuts down on SIGTERM, and keeps its data across a restart', async () => {
    // What `start` runs first (issue 28 item 2): esbuild, file by file, no type-check.
    const transpile = spawn(process.execPath, [join(cwd, '../../tooling/transpile.mjs')], {
      cwd: join(cwd, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let said = '';
    transpile.stderr.on('data', (chunk) => (said += chunk));
    expect(await new Promise((resolve) => transpile.on('exit', resolve))).toBe(0);
    expect(said).toMatch(/(transpiled \d+ of|up to date:) \d+ files of \d+ packages in \d+ ms/);
    const compiled = ['dist/server.js'];
    const dataDir = tempDir();
    const first = start({ DATA_DIR: dataDir }, compiled);
    const url = await listening(first);
    expect(first.output()).toContain(
      'ADMIN_API_KEY, CONSENT_SECRETS, AGE_GATE_SECRETS, AUDIT_CHECKPOINT_KEYS, NOTIFY_UNSUBSCRIBE_SECRETS, DATA_RIGHTS_SIGNING_KEYS, DATA_RIGHTS_SUBJECT_KEY, VAULT_KEYS, AUDIT_SIGNING_KEYS, QUOTA_CLIENT_KEY_SECRET not set',
    );
    expect(first.output()).toContain('HarakaFlow API starting: opening PGlite');
    expect(first.output()).toMatch(/HarakaFlow API ready on http:\/\/127\.0\.0\.1:\d+/);
    expect(first.output()).toContain(`"privacyCentre":"${url}/privacy"`);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/privacy`)).status).toBe(200);
    const created = await fetch(`${url}/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Wanjiru', email: 'wanjiru@example.com', dateOfBirth: '1991-01-01' }),
    });
    expect(created.status).toBe(201);
    const { apiKey } = (await created.json()) as { apiKey: string };

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('shutting down');

    const second = start({ DATA_DIR: dataDir }, compiled);
    const url2 = await listening(second);
    const me = await fetch(`${url2}/v1/me`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { account: { email: string } }).account.email).toBe('wanjiru@example.com');
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  }, 600_000); // a hang guard, not a measurement

  it.skipIf(!postgresUrl)(
    'runs on real Postgres when DATABASE_URL is set',
    async () => {
      const database = await testDatabase();
      try {
        const server = start({ DATA_DIR: tempDir(), DATABASE_URL: database.url! });
        const url = await listening(server);
        expect(server.output()).toMatch(/"database":"postgres".*HarakaFlow API ready/);
        expect((await fetch(`${url}/health`)).status).toBe(200);
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      } finally {
        await database.close();
      }
    },
    600_000,
  ); // a hang guard, not a measurement
});
