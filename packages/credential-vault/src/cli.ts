#!/usr/bin/env node
/**
 * hf-vault, the operator's tool for the credential vault:
 *   rewrap        re-wraps every record under the active KEK (batches, resumable), going on past
 *                 records it cannot unwrap and naming them at the end (exit 1 when there are any);
 *   status        records per KEK, and the records that do not open, per KEK;
 *   move-session FROM NAMESPACE SESSION
 *                 re-seals every record of session FROM of the default namespace into
 *                 NAMESPACE/SESSION (resumable; e.g. `move-session webhook-endpoints webhooks endpoints`).
 * Configured as the app is: DATABASE_URL (unset: the app's PGlite under DATA_DIR) and VAULT_KEYS
 * (unset: the development value in DATA_DIR/secrets.json); it says which it used, never the value.
 * DATA_DIR has no default: only the directory given is read (`npx pnpm@10 hf-vault` passes the app's). Exit 0 done, 1
 * some records could not be processed (named), 2 usage or configuration.
 */
import { givenDataDir, readSecret } from '@harakaflow/core/internals';
import { createDatabase, migrate, POOLERS, type Pooler } from '@harakaflow/db';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { vaultMigrations } from './index.js';
import { LocalKeyProvider } from './keyring.js';
import type { UnreadableRecord } from './store-rotation.js';
import { VaultStore } from './store.js';

const USAGE = `usage: hf-vault rewrap | status | move-session FROM-SESSION TO-NAMESPACE TO-SESSION
  rewrap        re-wrap every record under the active KEK (the first of VAULT_KEYS)
  status        records per KEK, and records that cannot be opened
  move-session  re-seal a default-namespace session of every account into another namespace
Configuration: DATABASE_URL (unset: the app's PGlite under DATA_DIR), DATABASE_POOLER, VAULT_KEYS (unset: DATA_DIR/secrets.json).
DATA_DIR: the app's data directory; no default (npx pnpm@10 hf-vault passes the app's, .data).
Exit: 0 done, 1 some records could not be processed (named), 2 usage or configuration error.
`;
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
      return fail(`hf-vault: ${error.code}: ${error.message}`);
    },
  );

let args: ReturnType<typeof parseArgs<{ options: { help: { type: 'boolean'; short: 'h' } }; allowPositionals: true }>>;
try {
  args = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
} catch (error) {
  fail(`hf-vault: ${(error as Error).message}\n${USAGE}`);
}
if (args!.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [command, ...rest] = args!.positionals;
if (
  (command !== 'rewrap' && command !== 'status' && command !== 'move-session') ||
  (command === 'move-session' ? rest.length !== 3 : rest.length !== 0)
)
  fail(USAGE);

const dataDir = givenDataDir(process.env);
const url = process.env.DATABASE_URL?.trim() || undefined;
if (!url && !dataDir)
  fail("hf-vault: set DATABASE_URL, or DATA_DIR to the app's data directory (its PGlite and development secrets)");
// DATABASE_POOLER as the app reads it: `transaction` behind PgBouncer in transaction mode.
const pooler = (process.env.DATABASE_POOLER?.trim() || 'none') as Pooler;
if (!POOLERS.includes(pooler)) fail(`hf-vault: DATABASE_POOLER must be ${POOLERS.join(', ')}`);
let found: ReturnType<typeof readSecret>;
try {
  found = readSecret('VAULT_KEYS', process.env, dataDir);
} catch (error) {
  fail(`hf-vault: ${(error as Error).message}`);
}
if (!found!)
  fail(
    `hf-vault: VAULT_KEYS is required (id:base64-of-32-bytes, comma-separated, the first active): set it, or set DATA_DIR to the data directory of an app run once in development (its secrets.json holds one)`,
  );
let keys: LocalKeyProvider;
try {
  keys = new LocalKeyProvider(found!.value);
} catch (error) {
  fail(`hf-vault: ${(error as Error).message}`);
}
process.stderr.write(`hf-vault: VAULT_KEYS from ${found!.source}\n`);

// Progress only for a person watching: never into a log or a pipe.
const tty = process.stderr.isTTY === true;
const progress = (text: string) => {
  if (tty) process.stderr.write(`\r${text}`);
};
const name = (r: UnreadableRecord) =>
  `${r.id}\taccount ${r.accountId}\tnamespace ${r.namespace}\tsession ${r.sessionId}\tname ${r.name}\tKEK ${r.kekId}\t${r.code}`;

const handle = await open(url, dataDir);
try {
  await migrate(handle.db, [vaultMigrations]);
  const store = new VaultStore(handle.db, keys!);
  if (command === 'move-session') {
    const [from, namespace, sessionId] = rest as [string, string, string];
    let moved = 0;
    for (;;) {
      const batch = await store.moveSession(from, { namespace, sessionId }, 200);
      moved += batch.moved;
      progress(`moved ${moved}`);
      if (batch.remaining === 0 || batch.moved === 0) {
        if (tty) process.stderr.write('\n');
        process.stdout.write(
          `moved ${moved} record(s) from session ${from} to ${namespace}/${sessionId}; ${batch.remaining} left\n`,
        );
        if (batch.remaining) process.exitCode = 1;
        break;
      }
    }
  } else if (command === 'status') {
    const counts = await store.status();
    const unreadable: UnreadableRecord[] = [];
    for (let after: string | null = null, checked = 0; ;) {
      const batch = await store.checkBatch(500, after);
      unreadable.push(...batch.unreadable);
      checked += batch.checked;
      progress(`checked ${checked}`);
      if (!batch.lastId) break;
      after = batch.lastId;
    }
    if (tty) process.stderr.write('\n');
    const ids = new Set([...Object.keys(counts), ...keys!.keyIds]);
    process.stdout.write(`active KEK: ${keys!.activeKeyId}\n`);
    for (const id of ids) {
      const n = counts[id] ?? 0;
      const bad = unreadable.filter((r) => r.kekId === id).length;
      const note =
        id === keys!.activeKeyId
          ? ' (active)'
          : !keys!.has(id)
            ? ' (NOT in VAULT_KEYS: these records cannot be read)'
            : n === 0
              ? ' (no records: can be removed)'
              : '';
      process.stdout.write(`${id}\t${n}${note}${bad ? `\t${bad} unreadable` : ''}\n`);
    }
    if (unreadable.length) {
      process.stdout.write(`${unreadable.length} record(s) cannot be opened:\n${unreadable.map(name).join('\n')}\n`);
      process.exitCode = 1;
    }
  } else {
    const before = await store.status();
    const total = Object.entries(before).reduce((n, [id, c]) => (id === keys!.activeKeyId ? n : n + c), 0);
    let done = 0;
    const unreadable: UnreadableRecord[] = [];
    for (let after: string | null = null; ;) {
      const batch = await store.rewrapBatch(200, after);
      done += batch.rewrapped;
      unreadable.push(...batch.unreadable);
      progress(`rewrapped ${done}/${total}`);
      if (!batch.lastId) break;
      after = batch.lastId;
    }
    if (tty) process.stderr.write('\n');
    const after = await store.status();
    process.stdout.write(
      `rewrapped ${done} record(s) to ${keys!.activeKeyId}; records per KEK: ${JSON.stringify(after)}\n`,
    );
    if (unreadable.length) {
      // Never a value: where each record is, so the operator can restore or delete it, then rerun.
      process.stdout.write(
        `${unreadable.length} record(s) could not be unwrapped and were left as they are:\n${unreadable.map(name).join('\n')}\n`,
      );
    }
    const left = Object.entries(after)
      .filter(([id, n]) => id !== keys!.activeKeyId && n > 0 && keys!.has(id))
      .reduce((n, [, c]) => n + c, 0);
    const missing = Object.entries(after).filter(([id, n]) => id !== keys!.activeKeyId && n > 0 && !keys!.has(id));
    if (missing.length)
      process.stdout.write(
        `records under a KEK not in VAULT_KEYS (cannot be re-wrapped): ${JSON.stringify(Object.fromEntries(missing))}\n`,
      );
    if (unreadable.length || left > unreadable.length || missing.length) process.exitCode = 1;
  }
} catch (error) {
  process.stderr.write(
    `hf-vault: ${(error as { code?: string }).code ?? 'error'}: the vault tables could not be read or written\n`,
  );
  process.exitCode = 1;
} finally {
  await handle.close();
}
