// The privacy centre's browser tests: the app started as `start` starts it (server.ts, its own
// process, its own PGlite under a fresh DATA_DIR), driven by Debian's Chromium through
// playwright-core. Without Chromium the tests skip, unless REQUIRE_SERVICES=1 (CI installs it).
import { freePort, fromDist, requireServices, seedPglite } from '@harakaflow/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && requireServices)
  throw new Error(
    `Chromium is required (REQUIRE_SERVICES=1) but ${CHROMIUM} does not exist: apt-get install -y chromium`,
  );

const apiDir = fileURLToPath(new URL('..', import.meta.url));
export const SCREENSHOTS = join(apiDir, 'test/screenshots');

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** One HTTP(S) request from the test process (a self-signed certificate accepted): status and parsed JSON body. */
export function call(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test helper: the bodies of every route
): Promise<{ status: number; json: any }> {
  return new Promise((done, fail) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        rejectUnauthorized: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let json: unknown = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = null;
          }
          done({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export interface RunningApp {
  url: string;
  dataDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the API as `start` does (server.ts), with `env` on top of a fresh DATA_DIR; resolves once /health answers. */
export async function startApp(
  env: Record<string, string> = {},
  scheme: 'http' | 'https' = 'http',
): Promise<RunningApp> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'hf-privacy-centre-'));
  // A fresh DATA_DIR starts from a made PGlite directory (no initdb in every start); the quickstart's tests cover a first start.
  if (!env.DATABASE_URL) await seedPglite(join(dataDir, 'pglite'));
  const child = spawn(process.execPath, fromDist(join(apiDir, 'src/server.ts')), {
    cwd: apiDir,
    // Every request of these tests comes from 127.0.0.1: the anonymous rate limit is raised.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      QUOTA_ANON_RPM: '100000',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = `${scheme}://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}): ${stderr.slice(0, 2000)}`);
    const ok = await call('GET', `${url}/health/live`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    // A hang guard only: while the process lives it is starting (minutes on two cores shared with a
    // second suite, where 90 s was once too short); an exit is reported at once above.
    if (Date.now() - started > 480_000) throw new Error(`the app did not start: ${stderr.slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
  return {
    url,
    dataDir,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The development secrets the app wrote in its DATA_DIR (to start a production instance with the same values). */
export const devSecrets = (dataDir: string): Record<string, string> =>
  JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;

/** A new account through the API itself: its id, email and key. */
export async function newAccount(url: string): Promise<{ id: string; email: string; apiKey: string }> {
  const email = `amina.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await call('POST', `${url}/v1/accounts`, {
    name: 'Amina Otieno',
    email,
    businessName: 'Otieno Logistics',
    dateOfBirth: '1990-04-12',
  });
  if (res.status !== 201) throw new Error(`signup answered ${res.status}`);
  const body = res.json as { account: { id: string }; apiKey: string };
  return { id: body.account.id, email, apiKey: body.apiKey };
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  // A small copy, for the README (docs/images holds two, copied from here): only when asked
  // (HF_README_SHOTS=1), as the viewport change and the second capture cost every run a second a shot.
  if (!process.env.HF_README_SHOTS) return;
  const size = page.viewportSize();
  await page.setViewportSize({ width: 720, height: 820 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.small.jpg`), type: 'jpeg', quality: 40 });
  if (size) await page.setViewportSize(size);
}

/** axe-core on the page as it is now: the serious and critical violations (none expected). */
export async function seriousViolations(
  page: Page,
): Promise<{ id: string; impact: string | null | undefined; nodes: string[] }[]> {
  const { AxeBuilder } = await import('@axe-core/playwright');
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

export const cookieNames = async (context: BrowserContext) => (await context.cookies()).map((c) => c.name);
