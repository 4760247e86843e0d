// Shared flat config. Type-aware rules are limited to the ones that catch real async bugs
// (floating promises, promises passed where a callback is expected), to keep lint fast on 2 cores.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'drizzle/**', 'coverage/**', '.data/**', '*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The privacy centre's page script: a browser module (typechecked by its own tsconfig, checkJs).
    files: ['web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'document',
          'window',
          'navigator',
          'location',
          'fetch',
          'setTimeout',
          'clearTimeout',
          'HTMLElement',
          'HTMLInputElement',
          'HTMLTableSectionElement',
          'SubmitEvent',
          'URL',
          'Blob',
          'atob',
          'crypto',
          'TextEncoder',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: [
      'test/**/*.ts',
      'bench/**/*.ts',
      'src/run.ts',
      'src/rights.ts',
      'src/profile.ts',
      'src/instructions.ts',
      'src/soak.ts',
      'src/soak-*.ts',
      '**/cli.ts',
      '**/*-cli.ts',
      '**/src/cli/**',
      '**/bin/**',
    ],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
