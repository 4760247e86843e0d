#!/usr/bin/env node
// `npx pnpm@10 hf-retention run [--dry-run] [--class NAME] [--json]`: a retention run now, on the same
// data as the API; it waits for nothing and doubles nothing (a run on another replica: "busy").
import { cliApp, cliArgs, printer, runCli } from './common.js';

const USAGE = `usage: hf-retention run [--dry-run] [--class NAME] [--json]

  run      purge what every class (or NAME) holds past its period (policy §4), in batches;
           --dry-run counts and changes nothing

Environment: DATABASE_URL (unset: the app's embedded database under DATA_DIR) and the app's other
settings, as for the API. Exit codes: 0 done, 1 a class failed (or another run is in progress), 2 usage.`;

const { values } = cliArgs(USAGE, { 'dry-run': { type: 'boolean' }, class: { type: 'string' } }, ['run']);
const v = values as { 'dry-run'?: boolean; class?: string; json?: boolean };
const app = await cliApp();
const print = printer(v.json);

await runCli(app, async () => {
  if (v.class && !(await app.retention.status()).classes.some((c) => c.name === v.class)) {
    throw Object.assign(new Error(`no retention class is named ${JSON.stringify(v.class)}`), {
      code: 'HF_RETENTION_UNKNOWN_CLASS',
    });
  }
  // Progress per class on a terminal (stderr, so --json output stays clean), one line each.
  const tty = process.stderr.isTTY && !v.json;
  let current: string | null = null;
  const result = await app.retention.runner.run({
    dryRun: v['dry-run'],
    only: v.class,
    onProgress: tty
      ? (c) => {
          if (current !== null && current !== c.name) process.stderr.write('\n');
          current = c.name;
          process.stderr.write(
            `\r${c.name}: ${c.rows} row(s)${c.partitions ? `, ${c.partitions} partition(s)` : ''}${v['dry-run'] ? ' would go' : ' removed'}`,
          );
        }
      : undefined,
  });
  if (tty && current !== null) process.stderr.write('\n');
  const classes = result.classes.map((c) => ({
    name: c.name,
    cutoff: c.cutoff,
    rows: c.rows,
    partitions: c.partitions,
    status: c.status,
    ...(c.error ? { error: c.error } : {}),
  }));
  print({ dryRun: result.dryRun, status: result.status, classes }, classes);
  if (result.status !== 'done')
    throw Object.assign(
      new Error(result.status === 'busy' ? 'another retention run is in progress' : 'a class failed (see its error)'),
      { code: result.status === 'busy' ? 'HF_RETENTION_BUSY' : 'HF_RETENTION_FAILED' },
    );
});
