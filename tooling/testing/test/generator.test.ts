// Issue 19 item 5: a new package is one command. The generator (turbo/generators, what
// `npx pnpm@10 gen:package` runs) is run here into a scratch repository root, both ways (storing
// data or not), and what it writes is checked: the layout of every package, a manifest ready to
// publish, the README's standard sections.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = new URL('../../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'hf-gen-'));
writeFileSync(join(scratch, 'turbo.json'), '{}');
writeFileSync(
  join(scratch, 'package.json'),
  JSON.stringify({ name: 'scratch', private: true, packageManager: 'pnpm@10.34.9' }),
);
writeFileSync(join(scratch, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function generate(name: string, stores: boolean): Promise<string> {
  await run(
    join(repo, 'node_modules/.bin/gen'),
    [
      'run',
      'package',
      '--root',
      scratch,
      '--config',
      join(repo, 'turbo/generators/config.ts'),
      '--args',
      name,
      'Probes things',
      '§5',
      String(stores),
    ],
    {
      cwd: repo,
      timeout: 60_000,
    },
  );
  return join(scratch, 'packages', name);
}

describe('gen:package', () => {
  it('writes a package that stores data: the layout, a publishable manifest, the README sections', async () => {
    const dir = await generate('probe-store', true);
    for (const file of [
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'eslint.config.js',
      'README.md',
      'LICENSE',
      'drizzle.config.ts',
      'src/index.ts',
      'src/options.ts',
      'src/errors.ts',
      'src/fastify.ts',
      'src/plugin.ts',
      'src/schema.ts',
      'test/plugin.test.ts',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown> & {
      publishConfig: { access: string; exports: Record<string, Record<string, string>> };
      exports: Record<string, Record<string, string>>;
    };
    expect(manifest).toMatchObject({
      name: '@harakaflow/probe-store',
      license: 'MIT',
      engines: { node: '>=20.19' },
      publishConfig: { access: 'public' },
    });
    expect(manifest.repository).toBeTruthy();
    expect(manifest.files).toEqual(expect.arrayContaining(['dist']));
    for (const conditions of Object.values(manifest.publishConfig.exports)) {
      expect(Object.keys(conditions)[0]).toBe('types');
      expect(Object.keys(conditions)).not.toContain('source');
    }
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    for (const section of [
      '## Install and register',
      '## Options',
      '## Errors',
      '## Threat model',
      '## Personal data',
      '## Tables',
      '## License',
    ])
      expect(readme).toContain(section);
    expect(readFileSync(join(dir, 'src/errors.ts'), 'utf8')).toContain('HF_PROBE_STORE_INVALID_OPTION');
  });

  it('writes a package without tables: no schema, no drizzle config', async () => {
    const dir = await generate('probe-plain', false);
    expect(existsSync(join(dir, 'src/plugin.ts'))).toBe(true);
    expect(existsSync(join(dir, 'src/schema.ts'))).toBe(false);
    expect(existsSync(join(dir, 'drizzle.config.ts'))).toBe(false);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).not.toContain('## Tables');
  });

  it('refuses a name that is not kebab-case', async () => {
    await expect(generate('Bad_Name', false)).rejects.toThrow(/lower-case letters, digits and -/);
    expect(existsSync(join(scratch, 'packages', 'Bad_Name'))).toBe(false);
  });
});
