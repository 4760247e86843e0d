// Issue 31 item 4: every ```ts block of every README is a complete program that compiles under the
// repository's strict settings (fragments are marked ```ts fragment). verify-packages runs each
// package README's main example from a scratch project holding only the tarballs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allExamples,
  extractExamples,
  mainExample,
  readmeFiles,
  repositoryRoot,
  transpileExample,
  typecheckExamples,
} from '../src/readme-examples.js';

const fence = '```';

describe('extractExamples', () => {
  it('takes ts and typescript blocks, skips fragments and other languages, and keeps the README line', () => {
    const markdown = [
      '# Title', //                                1
      `${fence}ts`, //                             2
      "import { a } from 'a';", //                 3
      fence, //                                    4
      `${fence}ts fragment`, //                    5
      '{ option: 1 }', //                          6
      fence, //                                    7
      `${fence}sh`, //                             8
      'npm install', //                            9
      fence, //                                   10
      `${fence}\`typescript`, //                  11: a four-backtick fence holding a three-backtick line
      'const s = `', //                           12
      fence, //                                   13
      '`;', //                                    14
      `${fence}\``, //                            15
      `${fence}js`, //                            16
      'const x = 1;', //                          17
      fence, //                                   18
    ].join('\n');
    const examples = extractExamples(markdown, 'X/README.md');
    expect(examples.map((e) => [e.line, e.code])).toEqual([
      [3, "import { a } from 'a';"],
      [12, ['const s = `', fence, '`;'].join('\n')],
    ]);
  });
});

describe('typecheckExamples', () => {
  it('reports an error at its README line, strict, and resolves the workspace packages and what an app installs', () => {
    const good = {
      readme: 'probe/README.md',
      line: 10,
      code: "import Fastify from 'fastify';\nimport { createDatabase } from '@harakaflow/db';\nconst app = Fastify();\nconst handle = await createDatabase({ url: process.env.DATABASE_URL });\nawait handle.close();\nawait app.close();\n",
    };
    const bad = {
      readme: 'probe/README.md',
      line: 20,
      code: "import { createDatabase } from '@harakaflow/db';\n\nconst secret: string = process.env.SECRET;\nawait createDatabase({ url: 42 });\n",
    };
    const problems = typecheckExamples([good, bad]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^probe\/README\.md:22:7: Type 'string \| undefined' is not assignable to type 'string'/,
    );
    expect(problems[1]).toMatch(/^probe\/README\.md:23:/);
  }, 600_000); // a hang guard, not a measurement

  it('every ```ts block of every README compiles (strict)', () => {
    const examples = allExamples();
    // The root README, every package's: the list is not empty by accident.
    expect(readmeFiles().length).toBeGreaterThanOrEqual(12);
    expect(examples.length).toBeGreaterThanOrEqual(10);
    expect(typecheckExamples(examples)).toEqual([]);
  }, 600_000); // a hang guard, not a measurement
});

describe('the package READMEs', () => {
  const packagesDir = join(repositoryRoot, 'packages');
  const packages = readdirSync(packagesDir).filter((d) => existsSync(join(packagesDir, d, 'package.json')));
  it.each(packages)(
    '%s: its README opens with a complete program that uses the package and closes what it opens',
    (dir) => {
      const example = mainExample(join(packagesDir, dir));
      // core has no plugin to show: its README documents functions, with no ```ts program.
      if (dir === 'core') return expect(example).toBeUndefined();
      expect(example, `packages/${dir}/README.md has no complete \`\`\`ts block`).toBeDefined();
      expect(example!.code).toMatch(new RegExp(`from '@harakaflow/${dir}'`));
      // A program that opens a database or a Fastify app closes it, or the process never exits.
      if (/createDatabase\(/.test(example!.code))
        expect(example!.code).toMatch(/await (close|handle\.close|database\.close)\(\)/);
      if (/Fastify\(\)/.test(example!.code)) expect(example!.code).toMatch(/await app\.close\(\)/);
      // Secrets come from the environment and are checked, never asserted with `!`.
      expect(example!.code).not.toMatch(/process\.env\.[A-Z_]+!/);
      expect(transpileExample(example!)).not.toMatch(/: string\b/);
    },
  );
});

describe('the root README, "Installing one package"', () => {
  const section = (() => {
    const text = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
    const start = text.indexOf('## Installing one package\n');
    return text.slice(start, text.indexOf('\n## ', start + 1));
  })();
  const manifests = new Map(
    readdirSync(join(repositoryRoot, 'packages'))
      .filter((d) => existsSync(join(repositoryRoot, 'packages', d, 'package.json')))
      .map(
        (d) =>
          JSON.parse(readFileSync(join(repositoryRoot, 'packages', d, 'package.json'), 'utf8')) as {
            name: string;
            private?: boolean;
            dependencies?: Record<string, string>;
          },
      )
      .filter((m) => !m.private)
      .map((m) => [m.name.replace('@harakaflow/', ''), m] as const),
  );
  const siblings = (name: string, seen = new Set<string>()): Set<string> => {
    for (const dep of Object.keys(manifests.get(name)?.dependencies ?? {})) {
      const short = dep.replace('@harakaflow/', '');
      if (dep.startsWith('@harakaflow/') && !seen.has(short)) siblings(short, seen.add(short));
    }
    return seen;
  };

  it('says the packages are not published yet, and how to pack them', () => {
    expect(section).toMatch(/not on the npm registry yet/);
    expect(section).toContain("npx pnpm@10 -r --filter './packages/*' pack --pack-destination");
  });

  it('names, for every package, exactly the sibling tarballs it needs', () => {
    const listed = new Map<string, Set<string>>();
    for (const row of section.split('\n').filter((l) => l.startsWith('| `@harakaflow/'))) {
      const [names, tarballs] = row
        .split('|')
        .slice(1, 3)
        .map((cell) => cell.trim());
      const packages = [...names!.matchAll(/`(?:@harakaflow\/)?([a-z-]+)`/g)].map((m) => m[1]!);
      for (const name of packages) {
        expect(listed.has(name), `${name} is in two rows`).toBe(false);
        listed.set(
          name,
          new Set(
            tarballs!
              .split(',')
              .map((t) => t.trim().replace(/^\(?all at.*$/, ''))
              .map((t) => (t === 'the package' ? name : t)),
          ),
        );
      }
    }
    expect([...listed.keys()].sort()).toEqual([...manifests.keys()].sort());
    for (const [name, tarballs] of listed) expect([...tarballs].sort(), name).toEqual([name, ...siblings(name)].sort());
  });
});
