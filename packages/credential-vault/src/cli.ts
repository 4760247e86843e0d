#!/usr/bin/env node
/**
 * hf-vault: `rewrap` re-wraps every record under the active KEK (batches, progress, resumable);
 * `status` counts records per KEK so an operator knows when an old key can go;
 * `move-session FROM NAMESPACE SESSION` re-seals every record of session FROM of the default
 * namespace into NAMESPACE/SESSION (resumable; e.g. `move-session webhook-endpoints webhooks endpoints`).
 * Configured by DATABASE_URL (unset: the app's PGlite under DATA_DIR, default .data) and VAULT_KEYS.
 */
import { createDatabase, migrate } from '@harakaflow/db';
import { resolve } from 'node:path';
import { vaultMigrations } from './index.js';
import { LocalKeyProvider } from './keyring.js';
import { VaultStore } from './store.js';

const command = process.argv[2];
const moveArgs = process.argv.slice(3);
if ((command !== 'rewrap' && command !== 'status' && command !== 'move-session') || (command === 'move-session' && moveArgs.length !== 3)) {
  process.stderr.write('usage: hf-vault rewrap | status | move-session FROM-SESSION TO-NAMESPACE TO-SESSION   (DATABASE_URL, VAULT_KEYS)\n');
  process.exit(2);
}
const keysText = process.env.VAULT_KEYS?.trim();
if (!keysText) {
  process.stderr.write('hf-vault: VAULT_KEYS is required (id:base64-of-32-bytes, comma-separated, the first active)\n');
  process.exit(2);
}

let keys: LocalKeyProvider;
try {
  keys = new LocalKeyProvider(keysText);
} catch (error) {
  process.stderr.write(`hf-vault: ${(error as Error).message}\n`);
  process.exit(2);
}

const url = process.env.DATABASE_URL?.trim() || undefined;
const handle = await createDatabase({ url, dataDir: url ? undefined : resolve(process.env.DATA_DIR ?? '.data', 'pglite'), max: 2 });
try {
  await migrate(handle.db, [vaultMigrations]);
  const store = new VaultStore(handle.db, keys);
  if (command === 'move-session') {
    const [from, namespace, sessionId] = moveArgs as [string, string, string];
    let moved = 0;
    for (;;) {
      const batch = await store.moveSession(from, { namespace, sessionId }, 200);
      moved += batch.moved;
      if (batch.remaining === 0 || batch.moved === 0) {
        process.stdout.write(`moved ${moved} record(s) from session ${from} to ${namespace}/${sessionId}; ${batch.remaining} left\n`);
        if (batch.remaining) process.exitCode = 1;
        break;
      }
    }
  } else if (command === 'status') {
    const counts = await store.status();
    const ids = new Set([...Object.keys(counts), ...keys.keyIds]);
    process.stdout.write(`active KEK: ${keys.activeKeyId}\n`);
    for (const id of ids) {
      const n = counts[id] ?? 0;
      const note = id === keys.activeKeyId ? ' (active)' : !keys.has(id) ? ' (NOT in VAULT_KEYS: these records cannot be read)' : n === 0 ? ' (no records: can be removed)' : '';
      process.stdout.write(`${id}\t${n}${note}\n`);
    }
  } else {
    const before = await store.status();
    const total = Object.entries(before).reduce((n, [id, c]) => (id === keys.activeKeyId ? n : n + c), 0);
    let done = 0;
    const bar = () => {
      const width = 30;
      const filled = total ? Math.round((done / total) * width) : width;
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    };
    bar();
    for (;;) {
      const { rewrapped, remaining } = await store.rewrapBatch(200);
      done += rewrapped;
      bar();
      if (remaining === 0 || rewrapped === 0) break;
    }
    process.stderr.write('\n');
    const after = await store.status();
    process.stdout.write(`rewrapped ${done} record(s) to ${keys.activeKeyId}; records per KEK: ${JSON.stringify(after)}\n`);
    const left = Object.entries(after).filter(([id, n]) => id !== keys.activeKeyId && n > 0);
    if (left.length) process.exitCode = 1; // records under a KEK not in VAULT_KEYS cannot be re-wrapped
  }
} catch (error) {
  process.stderr.write(`hf-vault: ${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await handle.close();
}
