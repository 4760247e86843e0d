// Issue 19 item 4: the app's wiring is one table. The migration list and the registration order
// both come from it, the README's wiring table lists it in order, and a callback that reaches a
// plugin registered later (quota's warnings reach notify and webhooks) is checked at boot.
import { APP_MIGRATIONS, appMigrations, registerWiring, WIRING } from '@harakaflow/api';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appForFile, testConfig } from './helpers.js';

const under = appForFile();

describe('the wiring table', () => {
  it("yields the migrations: the app's own, then each step's in table order, each once", () => {
    const fromTable = WIRING.flatMap((s) => (s.migrations ? [s.migrations] : []));
    expect(APP_MIGRATIONS).toEqual([appMigrations, ...fromTable]);
    expect(new Set(APP_MIGRATIONS.map((m) => m.name)).size).toBe(APP_MIGRATIONS.length);
    expect(fromTable.map((m) => m.name)).toEqual([
      'quota',
      'audit',
      'consent',
      'age_gate',
      'vault',
      'webhooks',
      'notify',
      'data_rights',
      'retention',
    ]);
  });

  it('is the registration order of the built app', () => {
    const tree = under.app.printPlugins();
    const packages = WIRING.filter((s) => s.name.startsWith('@harakaflow/')).map((s) => s.name);
    const positions = packages.map((name) => tree.indexOf(name));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('gives every step its reason, and the README lists the steps in the same order', () => {
    for (const s of WIRING) expect(s.why.length, s.name).toBeGreaterThan(10);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Wiring'), readme.indexOf('\n## ', readme.indexOf('## Wiring') + 1));
    const listed = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(WIRING.map((s) => s.name));
  });

  it("fails at boot when a step's callbacks need a plugin that no later step registers", async () => {
    const instance = Fastify({ logger: false });
    const step = {
      name: 'needs-notify',
      plugin: fp(async () => {}),
      why: 'a test step whose callbacks use app.notify',
      late: ['notify'],
    };
    await expect(
      registerWiring({ app: instance, config: testConfig(), database: under.database, redis: undefined }, [step]),
    ).rejects.toThrow(/needs-notify's callbacks use app\.notify/);
    await instance.close();
  });
});
