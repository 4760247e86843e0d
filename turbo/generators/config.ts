/**
 * `npx pnpm@10 turbo gen package` (issue 19 item 5): a new package of the kit in one command,
 * conformant from its first commit: package.json (publishable, as verify:packages checks), the
 * tsconfigs, the eslint config, the layout of ../shared/STYLE.md (options, errors, fastify, plugin,
 * index, and schema when it stores data), a test, a README with the standard sections, a
 * drizzle-kit config when it stores data, and the LICENSE.
 *
 * Non-interactive: `npx pnpm@10 turbo gen package --args <name> "<description>" "<policy clause>" <stores data: true|false>`.
 */
import type { PlopTypes } from '@turbo/gen';

const NAME = /^[a-z][a-z0-9-]*[a-z0-9]$/;

export default function generator(plop: PlopTypes.NodePlopAPI): void {
  plop.setHelper('snake', (text: string) => text.replace(/-/g, '_'));
  plop.setHelper('upperSnake', (text: string) => text.replace(/-/g, '_').toUpperCase());
  plop.setHelper('year', () => String(new Date().getUTCFullYear()));

  plop.setGenerator('package', {
    description: 'A new @harakaflow package: a Fastify 5 plugin with its core, tests and README',
    prompts: [
      {
        type: 'input',
        name: 'name',
        message: 'Package name, without @harakaflow/ (kebab-case):',
        validate: (v: string) => NAME.test(v) || 'lower-case letters, digits and -',
      },
      {
        type: 'input',
        name: 'description',
        message: 'One line: what it does',
        validate: (v: string) => v.trim().length > 0 || 'say what it does',
      },
      { type: 'input', name: 'clause', message: 'The privacy policy clause it keeps (e.g. §5):', default: '§?' },
      {
        type: 'confirm',
        name: 'stores',
        message: 'Does it store data in Postgres (a schema, migrations, a personal-data handler)?',
        default: true,
      },
    ],
    actions: (answers) => {
      const stores = answers?.stores === true || answers?.stores === 'true';
      const files = [
        'package.json',
        'tsconfig.json',
        'tsconfig.build.json',
        'eslint.config.js',
        'README.md',
        'LICENSE',
        'src/index.ts',
        'src/options.ts',
        'src/errors.ts',
        'src/fastify.ts',
        'src/plugin.ts',
        'test/plugin.test.ts',
      ];
      if (stores) files.push('src/schema.ts', 'drizzle.config.ts');
      return [
        ...files.map((file) => ({
          type: 'add' as const,
          path: `{{ turbo.paths.root }}/packages/{{ name }}/${file}`,
          templateFile: `templates/package/${file}.hbs`,
          data: { stores },
        })),
        () =>
          `packages/${String(answers?.name)} written. Next: npx pnpm@10 install${stores ? `, write src/schema.ts, then npx pnpm@10 --filter @harakaflow/${String(answers?.name)} db:generate` : ''}, then add a check to tooling/testing/src/package-checks.ts (verify:packages fails without one).`,
      ];
    },
  });
}
