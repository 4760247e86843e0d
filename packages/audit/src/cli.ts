#!/usr/bin/env node
/**
 * hf-audit verify [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *
 * Verifies the audit hash chains and their signed checkpoints. Exit 0 when intact; 1 when not,
 * naming the first bad event of each broken segment and why; 2 on a usage or configuration error.
 * Configured by DATABASE_URL (unset: the app's PGlite under DATA_DIR, default .data; stop the app
 * first, PGlite takes one process) and AUDIT_CHECKPOINT_KEYS (unset: the development value the app
 * generated in DATA_DIR/secrets.json).
 */
import { readSecret } from '@harakaflow/core';
import { createDatabase } from '@harakaflow/db';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkpointKeyObjects } from './options.js';
import { verifyChain } from './verify.js';

const USAGE = `usage: hf-audit verify [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  verify the audit log's hash chains and signed checkpoints
Configuration: DATABASE_URL (unset: PGlite under DATA_DIR, default .data), AUDIT_CHECKPOINT_KEYS (unset: DATA_DIR/secrets.json).
Exit: 0 intact, 1 broken (each problem named), 2 usage or configuration error (wrong keys included).
`;
const fail = (message: string): never => {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(2);
};

let parsed: ReturnType<typeof parseArgs<{ options: { from: { type: 'string' }; to: { type: 'string' }; help: { type: 'boolean'; short: 'h' } }; allowPositionals: true }>>;
try {
  parsed = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
} catch (error) {
  fail(`hf-audit: ${(error as Error).message}\n${USAGE}`);
}
if (parsed!.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (parsed!.positionals.length !== 1 || parsed!.positionals[0] !== 'verify') fail(USAGE);
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const { from, to } = parsed!.values;
for (const [name, day] of [['--from', from], ['--to', to]] as const) {
  if (day !== undefined && (!DAY.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day)) {
    fail(`hf-audit: ${name} must be a UTC day, YYYY-MM-DD`);
  }
}
if (from && to && from > to) fail('hf-audit: --from is after --to');

const dataDir = process.env.DATA_DIR ?? '.data';
// The keys as the app reads them: the environment, else the development file (the same reader as hf-vault's).
let found: ReturnType<typeof readSecret>;
try {
  found = readSecret('AUDIT_CHECKPOINT_KEYS', process.env, dataDir);
} catch (error) {
  fail(`hf-audit: ${(error as Error).message}`);
}
if (!found!) fail('hf-audit: AUDIT_CHECKPOINT_KEYS is required (the checkpoint HMAC keys, comma-separated)');
const keysText = found!.value;
process.stderr.write(`hf-audit: AUDIT_CHECKPOINT_KEYS from ${found!.source}\n`);
let keys: ReturnType<typeof checkpointKeyObjects>;
try {
  keys = checkpointKeyObjects(keysText.split(',').map((k) => k.trim()), 'AUDIT_CHECKPOINT_KEYS');
} catch (error) {
  fail(`hf-audit: ${(error as Error).message}`);
}

const url = process.env.DATABASE_URL?.trim() || undefined;
const handle = await createDatabase({ url, dataDir: url ? undefined : resolve(dataDir, 'pglite'), max: 2 });
try {
  const result = await verifyChain({ db: handle.db, checkpointKeys: keys!, from, to });
  const range = `${from ?? 'the first day'} to ${to ?? 'the last day'}`;
  for (const g of result.gaps) {
    process.stdout.write(`declared gap: writer ${g.writer} dropped ${g.count} access event(s) between ${g.from} and ${g.to} (spill directory full; event ${g.id})\n`);
  }
  for (const id of result.erasures.incomplete) {
    process.stdout.write(`note: erasure ${id} was recorded but its events still hold their personal fields (interrupted): run the erasure again\n`);
  }
  // No checkpoint at all verifies with these keys while there are some: the keys are wrong, not
  // the log (a false tamper alarm otherwise). Exit 2, a configuration error.
  if (!result.ok && result.checkpoints.total > 0 && result.checkpoints.valid === 0) {
    process.stderr.write(`hf-audit: none of the ${result.checkpoints.total} checkpoint(s) verifies with the AUDIT_CHECKPOINT_KEYS given (from ${found!.source}): the keys are probably wrong\n`);
    process.exitCode = 2;
  } else if (result.ok) {
    process.stdout.write(`audit chain intact: ${result.segments} segment(s), ${result.events} event(s), ${range}\n`);
  } else {
    process.stdout.write(`audit chain BROKEN: ${result.problems.length} problem(s), ${range}\n`);
    for (const p of result.problems) {
      const where = p.id ? `event ${p.id} (seq ${p.seq})` : p.seq !== null ? `seq ${p.seq}` : 'segment';
      process.stdout.write(`${p.reason}\twriter ${p.writer}, day ${p.day}, ${where}: ${p.detail}\n`);
    }
    process.exitCode = 1;
  }
} catch (error) {
  process.stderr.write(`hf-audit: ${(error as { code?: string }).code ?? 'error'}: could not read the audit tables\n`);
  process.exitCode = 2;
} finally {
  await handle.close();
}
