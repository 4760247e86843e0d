#!/usr/bin/env node
/**
 * hf-audit verify [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 * hf-audit verify --public-key FILE [--witness FILE]
 * hf-audit migrate-partitions [--batch-size N] [--drop-legacy]
 *
 * Verifies the audit hash chains and their signed checkpoints. Exit 0 when intact; 1 when not,
 * naming the first bad event of each broken segment and why; 2 on a usage or configuration error.
 * Configured by DATABASE_URL (unset: the app's PGlite under DATA_DIR; stop the app first, PGlite
 * takes one process) and AUDIT_CHECKPOINT_KEYS (unset: the development value the app generated in
 * DATA_DIR/secrets.json). DATA_DIR has no default: only the directory given is read
 * (`npx pnpm@10 hf-audit` passes the app's). migrate-partitions moves an unpartitioned audit log into
 * day partitions (migrate-partitions.ts), connecting as MIGRATION_DATABASE_URL when set (the
 * tables' owner), else DATABASE_URL; run it once every replica runs this version.
 */
import { givenDataDir, readSecret } from '@harakaflow/core/internals';
import { createDatabase, POOLERS, type Pooler } from '@harakaflow/db';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { migratePartitions } from './migrate-partitions.js';
import { loadVerifierKeys, readSmallFile } from './cli-keys.js';
import { MAX_NOTE_BYTES, openCheckpoint, type NoteVerifier } from './note.js';
import { checkpointKeyObjects } from './options.js';
import { readTreeHead } from './tree.js';
import { verifyChain } from './verify.js';

const USAGE = `usage: hf-audit verify [--from YYYY-MM-DD] [--to YYYY-MM-DD]
       hf-audit verify --public-key FILE [--witness FILE]
       hf-audit migrate-partitions [--batch-size N] [--drop-legacy]
  verify: check the audit log's hash chains and signed checkpoints (HMAC: AUDIT_CHECKPOINT_KEYS)
  verify --public-key FILE: check the whole log with public keys alone (no secret): the Merkle tree
    against its latest signed head, every event against its hash; FILE is the served
    /.well-known/harakaflow-audit-keys.txt (verifier keys) or .json (JWK set)
  --witness FILE: a signed head a witness kept (as GET /v1/audit/checkpoint served it): the log
    must extend it (a consistency proof between the two sizes)
  migrate-partitions: move an unpartitioned audit log into day partitions, in batches, while the
    app runs (resumable: run it again after an interruption); the old table is kept as
    audit.events_legacy unless --drop-legacy
Configuration: DATABASE_URL (unset: the app's PGlite under DATA_DIR), DATABASE_POOLER, AUDIT_CHECKPOINT_KEYS (unset: DATA_DIR/secrets.json).
DATA_DIR: the app's data directory; no default (npx pnpm@10 hf-audit passes the app's, .data).
Exit: 0 intact, 1 broken (each problem named), 2 usage or configuration error (wrong keys included).
`;
const NO_DATABASE =
  "hf-audit: set DATABASE_URL, or DATA_DIR to the app's data directory (its PGlite and development secrets)";
const fail = (message: string): never => {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(2);
};
/**
 * The database, or exit 2 with the reason: e.g. HF_DB_DATA_DIR_IN_USE, the app's PGlite directory held by the running
 * app (naming its pid).
 */
const open = (url: string | undefined, dataDir: string | undefined) =>
  createDatabase({ url, dataDir: url ? undefined : resolve(dataDir!, 'pglite'), max: 2, pooler }).catch(
    (error: { code?: string; message?: string }) => {
      if (!error?.code?.startsWith('HF_')) throw error;
      return fail(`hf-audit: ${error.code}: ${error.message}`);
    },
  );

// DATABASE_POOLER as the app reads it: `transaction` behind PgBouncer in transaction mode.
const pooler = (process.env.DATABASE_POOLER?.trim() || 'none') as Pooler;
if (!POOLERS.includes(pooler)) fail(`hf-audit: DATABASE_POOLER must be ${POOLERS.join(', ')}`);

const OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  'batch-size': { type: 'string' },
  'drop-legacy': { type: 'boolean' },
  'public-key': { type: 'string' },
  witness: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
try {
  parsed = parseArgs({ options: OPTIONS, allowPositionals: true, strict: true });
} catch (error) {
  fail(`hf-audit: ${(error as Error).message}\n${USAGE}`);
}
if (parsed!.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const command = parsed!.positionals[0];
if (parsed!.positionals.length !== 1 || (command !== 'verify' && command !== 'migrate-partitions')) fail(USAGE);
if (command === 'migrate-partitions') {
  const text = parsed!.values['batch-size'] ?? '10000';
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1 || Number(text) > 100_000)
    fail('hf-audit: --batch-size must be a whole number from 1 to 100000');
  const url = (process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL)?.trim() || undefined;
  const dataDir = givenDataDir(process.env);
  if (!url && !dataDir) fail(NO_DATABASE);
  const handle = await open(url, dataDir);
  const tty = process.stderr.isTTY;
  try {
    const result = await migratePartitions(handle.db, {
      batchSize: Number(text),
      dropLegacy: parsed!.values['drop-legacy'] ?? false,
      onProgress: (copied) => process.stderr.write(tty ? `\rhf-audit: ${copied} event(s) copied` : ''),
    });
    if (tty) process.stderr.write('\n');
    if (result.status === 'already')
      process.stdout.write('audit.events is already partitioned by day: nothing to do\n');
    else {
      process.stdout.write(`audit.events is now partitioned by day: ${result.copied} event(s) copied\n`);
      if (result.legacyKept)
        process.stdout.write(
          'the unpartitioned table is kept as audit.events_legacy: drop it once hf-audit verify passes (DROP TABLE audit.events_legacy)\n',
        );
    }
  } catch (error) {
    // The code only: driver errors quote their parameters.
    process.stderr.write(
      `hf-audit: ${(error as { code?: string }).code ?? 'error'}: the migration stopped; run it again to resume where it stopped\n`,
    );
    process.exitCode = 1;
  } finally {
    await handle.close();
  }
  process.exit();
}
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const { from, to } = parsed!.values;
for (const [name, day] of [
  ['--from', from],
  ['--to', to],
] as const) {
  if (
    day !== undefined &&
    (!DAY.test(day) ||
      Number.isNaN(Date.parse(`${day}T00:00:00Z`)) ||
      new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day)
  ) {
    fail(`hf-audit: ${name} must be a UTC day, YYYY-MM-DD`);
  }
}
if (from && to && from > to) fail('hf-audit: --from is after --to');
const publicKeyFile = parsed!.values['public-key'];
const witnessFile = parsed!.values.witness;
if (witnessFile !== undefined && publicKeyFile === undefined)
  fail("hf-audit: --witness needs --public-key (the witness's head is checked with the served keys)");
if (publicKeyFile !== undefined && (from || to))
  fail('hf-audit: --public-key checks the whole log (its tree spans every day): leave out --from and --to');
let verifiers: NoteVerifier[] | null = null;
let witness: string | undefined;
if (publicKeyFile !== undefined) {
  try {
    verifiers = loadVerifierKeys(publicKeyFile);
  } catch (error) {
    fail(`hf-audit: --public-key ${publicKeyFile}: ${(error as Error).message}`);
  }
  if (witnessFile !== undefined) {
    try {
      witness = new TextDecoder('utf-8', { fatal: true }).decode(
        readSmallFile(witnessFile, MAX_NOTE_BYTES, `--witness ${witnessFile}`, 'a signed note is smaller'),
      );
      openCheckpoint(witness, verifiers!);
    } catch (error) {
      fail(`hf-audit: --witness: ${(error as Error).message}`);
    }
  }
}

const dataDir = givenDataDir(process.env);
const url = process.env.DATABASE_URL?.trim() || undefined;
if (!url && !dataDir) fail(NO_DATABASE);
// The keys as the app reads them: the environment, else the development file (the same reader as
// hf-vault's). With --public-key, no secret is read at all.
let found: ReturnType<typeof readSecret> = null;
let keys: ReturnType<typeof checkpointKeyObjects> = [];
if (!verifiers) {
  try {
    found = readSecret('AUDIT_CHECKPOINT_KEYS', process.env, dataDir);
  } catch (error) {
    fail(`hf-audit: ${(error as Error).message}`);
  }
  if (!found)
    fail(
      'hf-audit: AUDIT_CHECKPOINT_KEYS is required (the checkpoint HMAC keys, comma-separated), or give --public-key',
    );
  process.stderr.write(`hf-audit: AUDIT_CHECKPOINT_KEYS from ${found!.source}\n`);
  try {
    keys = checkpointKeyObjects(
      found!.value.split(',').map((k) => k.trim()),
      'AUDIT_CHECKPOINT_KEYS',
    );
  } catch (error) {
    fail(`hf-audit: ${(error as Error).message}`);
  }
} else process.stderr.write(`hf-audit: public keys only, from ${publicKeyFile} (${verifiers.length} key(s))\n`);

const handle = await open(url, dataDir);
try {
  const openHead = verifiers ? (note: string) => openCheckpoint(note, verifiers!) : undefined;
  if (openHead) {
    // A head no key given signed: the wrong keys (or no head yet), not tampering: exit 2.
    const head = await readTreeHead(handle.db);
    if (!head?.note)
      fail(
        'hf-audit: the audit log has no signed tree head yet (the app signs one every 10 s once AUDIT_SIGNING_KEYS is set)',
      );
    try {
      openHead(head!.note!);
    } catch (error) {
      const reason = (error as { reason?: string }).reason;
      if (reason === 'unknown-key' || reason === 'origin-mismatch')
        fail(
          `hf-audit: the latest tree head is not signed by any key in ${publicKeyFile}: the keys are probably wrong (${(error as Error).message})`,
        );
    }
  }
  const result = await verifyChain({ db: handle.db, checkpointKeys: keys, from, to, openHead, witness });
  const a = result.anchor;
  const range = `${a.kind === 'horizon' ? a.horizon : (from ?? 'the first day')} to ${to ?? 'the last day'}`;
  if (a.kind === 'horizon') {
    const writers = a.writers.map((w) => `${w.writer} at its checkpoint of ${w.day} (${w.count} events)`).join(', ');
    process.stdout.write(
      `anchored at the retention horizon ${a.horizon} (every day before it was purged on purpose)${writers ? `: ${writers}` : ''}; writers that began later at their genesis\n`,
    );
  } else if (a.kind === 'genesis') process.stdout.write("anchored at each writer's genesis (nothing purged)\n");
  const t = result.tree;
  if (t?.size !== null && t !== null) {
    process.stdout.write(
      `tree head: ${t.size} leaves signed by ${t.keyName}${t.horizon ? `, horizon ${t.horizon}` : ''}; ${t.leaves} leaf(s) recomputed from events, ${t.kept} from hashes kept for dropped days\n`,
    );
    if (t.witness)
      process.stdout.write(
        `witness head of ${t.witness.size} leaves: ${t.witness.consistent ? 'the log extends it (consistency proof verified)' : 'NOT extended by the log'}\n`,
      );
  } else
    process.stdout.write(`anchored at ${from}: the first segment of each writer is not linked to the days before it\n`);
  for (const g of result.gaps) {
    process.stdout.write(
      `declared gap: writer ${g.writer} dropped ${g.count} access event(s) between ${g.from} and ${g.to} (spill directory full; event ${g.id})\n`,
    );
  }
  for (const id of result.erasures.incomplete) {
    process.stdout.write(
      `note: erasure ${id} was recorded but its events still hold their personal fields (interrupted): run the erasure again\n`,
    );
  }
  // No checkpoint at all verifies with these keys while there are some: the keys are wrong, not
  // the log (a false tamper alarm otherwise). Exit 2, a configuration error.
  if (!verifiers && !result.ok && result.checkpoints.total > 0 && result.checkpoints.valid === 0) {
    process.stderr.write(
      `hf-audit: none of the ${result.checkpoints.total} checkpoint(s) verifies with the AUDIT_CHECKPOINT_KEYS given (from ${found!.source}): the keys are probably wrong\n`,
    );
    process.exitCode = 2;
  } else if (result.ok) {
    process.stdout.write(`audit chain intact: ${result.segments} segment(s), ${result.events} event(s), ${range}\n`);
    if (result.held.events || result.held.days) {
      process.stdout.write(
        `held copies: ${result.held.events} event(s) of subjects under a legal hold, each matching its own hash; ${result.held.days} dropped day(s) matching their signed records${result.held.released ? ` (${result.held.released} cop(ies) since released under chained records)` : ''}\n`,
      );
    }
  } else {
    process.stdout.write(`audit chain BROKEN: ${result.problems.length} problem(s), ${range}\n`);
    for (const p of result.problems) {
      const where = p.id
        ? `event ${p.id} (seq ${p.seq})`
        : p.seq !== null
          ? `seq ${p.seq}`
          : p.reason.startsWith('held-')
            ? 'held copies'
            : 'segment';
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
