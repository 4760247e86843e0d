#!/usr/bin/env node
// `npx pnpm@10 secrets` (issue 31 item 3): a complete .env.production with fresh secrets, printed;
// `--out FILE` writes it (mode 0600, never over an existing file); `--env-example` re-renders
// apps/api/.env.example. Nothing here reads the environment or a database.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SECRET_SPECS } from '../config/config.js';
import { envExample } from '../config/docs.js';
import { productionEnv } from '../config/load.js';

const USAGE = `usage: npx pnpm@10 secrets [--out FILE] [--env-example]

  (no option)      print a complete .env.production: NODE_ENV=production, a fresh value of every
                   secret, and PUBLIC_URL, DATABASE_URL and SMTP_URL (or NOTIFY_TRANSPORT=eml) to
                   fill in, commented out. pnpm echoes the command first: redirect with
                   \`npx pnpm@10 --silent secrets > .env.production\`, or use --out
  --out FILE       write it to FILE (relative to the repository root), mode 0600; an existing FILE
                   is never overwritten (its secrets may be in use)
  --env-example    re-render apps/api/.env.example (every variable, no values; with --out, to a new FILE)

Exit codes: 0 done, 1 the file could not be written, 2 usage.`;

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

let values: { out?: string; 'env-example'?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { out: { type: 'string' }, 'env-example': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (error) {
  fail(`${(error as Error).message}\n\n${USAGE}`, 2);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
/** Writes a new file (never over one: a mixed-up `--out` must not destroy an env file in use), mode 0600. */
function writeNew(file: string, text: string): void {
  try {
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as { code?: string }).code;
    fail(
      code === 'EEXIST'
        ? `${file} exists: not overwritten (its secrets may be in use); move it away first`
        : `${file} could not be written (${code ?? 'error'})`,
      1,
    );
  }
}

if (values['env-example']) {
  if (values.out !== undefined) writeNew(values.out, envExample(SECRET_SPECS));
  // The committed example itself (src/ and dist/ are both one level under apps/api): no secret in it.
  else writeFileSync(fileURLToPath(new URL('../../.env.example', import.meta.url)), envExample(SECRET_SPECS));
  process.stderr.write(`wrote ${values.out ?? 'apps/api/.env.example'}\n`);
} else if (values.out !== undefined) {
  writeNew(values.out, productionEnv());
  process.stderr.write(
    `wrote ${values.out} (mode 0600): fill in PUBLIC_URL, SMTP_URL (or NOTIFY_TRANSPORT=eml) and DATABASE_URL, then start with \`node tooling/transpile.mjs && node --env-file=${values.out} apps/api/dist/server.js\`\n`,
  );
} else {
  process.stdout.write(productionEnv());
}
