/** The variable table as documentation: the README's configuration table and `.env.example`. */
import { ENV_VARIABLES } from './variables.js';

/** A secret as the README's table and `.env.example` show it (a SecretSpec's public part). */
export interface SecretRow {
  env: string;
  meaning: string;
  /** Set when production may run without it (its default column says what happens then). */
  optionalInProduction?: { shown: string } | undefined;
}

/** The README's configuration table: every variable of ENV_VARIABLES, then every secret. */
export function configTable(secrets: readonly SecretRow[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = [
    ...ENV_VARIABLES.map((v) => [v.name, v.shown, v.meaning]),
    ...secrets.map((s) => [s.env, s.optionalInProduction?.shown ?? 'generated in development', s.meaning]),
  ];
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...rows.map(([name, shown, meaning]) => `| \`${name}\` | ${cell(shown!)} | ${cell(meaning!)} |`),
  ].join('\n');
}

/** `text` as `# ` comment lines of at most `width` characters (a longer word stays whole). */
export function commentLines(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '#';
  // Markdown links read as their text in a comment.
  for (const word of text
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .split(/\s+/)
    .filter(Boolean)) {
    if (line.length > 1 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  if (line.length > 1) lines.push(line);
  return lines;
}

/**
 * `apps/api/.env.example` (issue 31 item 3): every variable of ENV_VARIABLES, then every secret,
 * each with its meaning and default, commented out (an empty value is unset, so each line may be
 * uncommented and filled in alone). Re-render: `npx pnpm@10 secrets --env-example`; a test checks
 * the committed file is this.
 */
export function envExample(secrets: readonly SecretRow[]): string {
  const out = [
    '# Every environment variable of the HarakaFlow API (apps/api), rendered from ENV_VARIABLES and',
    '# SECRET_SPECS (apps/api/src/config/variables.ts, config/config.ts) by `npx pnpm@10 secrets --env-example`: do not edit',
    '# by hand. Unset or empty means the default. For production: `npx pnpm@10 secrets` prints a',
    '# .env.production with fresh secrets.',
    '',
  ];
  // A default shown as one literal (`3000`) is the example value; anything else is described.
  const literal = (shown: string) => /^`([^`]*)`$/.exec(shown)?.[1];
  for (const v of ENV_VARIABLES) {
    const value = literal(v.shown);
    out.push(
      ...commentLines(`${v.meaning.replace(/`/g, '')}. Default: ${v.shown.replace(/`/g, '')}.`),
      `# ${v.name}=${value ?? ''}`,
      '',
    );
  }
  for (const s of secrets) {
    const when = s.optionalInProduction
      ? `${s.optionalInProduction.shown.replace(/^generated in development/, 'Generated in development (DATA_DIR/secrets.json)')}.`
      : 'Required in production; generated in development (DATA_DIR/secrets.json).';
    out.push(...commentLines(`${s.meaning.replace(/`/g, '')}. ${when.replace(/`/g, '')}`), `# ${s.env}=`, '');
  }
  return out.join('\n');
}
