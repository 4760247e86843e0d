#!/usr/bin/env node
// `npx pnpm@10 hf-rights <command>`: the privacy request queue from the command line, on the same
// data as the API (DATABASE_URL, or the app's .data without it), and the re-application of erasures
// after a backup is restored. Human tables by default, `--json` for scripts.
import { serializeError } from '@harakaflow/core';
import type { SubjectRef } from '@harakaflow/core';
import type { RightsRequest } from '@harakaflow/data-rights';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildApp } from './app.js';
import { ConfigError } from './config.js';
import { loadConfig } from './secrets.js';

const USAGE = `usage: hf-rights <command> [options]

  list [--status S] [--kind K] [--overdue] [--json]   the request queue, newest first
  show <id> [--json]                                  one request with its history and receipt
  extend <id> --days N --reason TEXT                  the one extension (at most 60 days)
  fulfil <id> [--note TEXT]                           a request handled outside the kit
  deny <id> --reason TEXT                             a denial, with its reason
  export-journal                                      the erasure journal as NDJSON (keep a copy outside the backups)
  reapply-erasures [--journal FILE] [--json]          after a restore: erase again every restored subject the journal lists

Environment: DATABASE_URL (unset: the app's embedded database under DATA_DIR), DATA_RIGHTS_SUBJECT_KEY,
DATA_RIGHTS_SIGNING_KEYS and the app's other secrets, as for the API. Exit codes: 0 done, 1 failed, 2 usage.`;

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        status: { type: 'string' },
        kind: { type: 'string' },
        overdue: { type: 'boolean' },
        json: { type: 'boolean' },
        days: { type: 'string' },
        reason: { type: 'string' },
        note: { type: 'string' },
        journal: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${USAGE}`);
  }
})();
const [command, id] = positionals;
if (values.help || !command) fail(USAGE, values.help ? 0 : 2);
const COMMANDS = ['list', 'show', 'extend', 'fulfil', 'deny', 'export-journal', 'reapply-erasures'];
if (!COMMANDS.includes(command!)) fail(`unknown command "${command}"\n\n${USAGE}`);
if (['show', 'extend', 'fulfil', 'deny'].includes(command!) && !id) fail(`${command} needs a request id\n\n${USAGE}`);

let config;
try {
  // Warnings (development secrets) go to stderr, so --json output stays clean.
  config = loadConfig(process.env, (message) => process.stderr.write(`${message}\n`));
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, 1);
  throw error;
}
const logger = pino({ level: 'error' }, pino.destination(2));
const app = await buildApp({ ...config, logLevel: 'error' }, { logger });
await app.ready();

const row = (r: RightsRequest) => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  subject: r.subject.kind,
  received: r.receivedAt.slice(0, 10),
  due: (r.extendedDueAt ?? r.dueAt).slice(0, 10),
});
const print = (value: unknown, table?: Record<string, unknown>[]) => {
  if (values.json || !table) process.stdout.write(`${JSON.stringify(value, null, values.json ? 0 : 2)}\n`);
  else console.table(table);
};

/** The subjects a restored database holds: every account, and every contact of every account's message log. */
async function* restoredSubjects(): AsyncGenerator<SubjectRef> {
  const rows = async (query: ReturnType<typeof sql>) => resultRows<Record<string, string>>(await app.database.db.execute(query));
  for (const { id: accountId } of await rows(sql`select id::text as id from app.accounts`)) yield { kind: 'account', accountId: accountId! };
  for (const r of await rows(sql`select distinct account_id::text as account_id, "to" from app.message_log`)) yield { kind: 'contact', accountId: r.account_id!, phone: r.to! };
}

let exitCode = 0;
try {
  const rights = app.dataRights;
  switch (command) {
    case 'list': {
      const all: RightsRequest[] = [];
      let cursor: string | undefined;
      do {
        const page = await rights.list({ status: values.status as never, kind: values.kind as never, overdue: values.overdue, cursor, limit: 200 });
        all.push(...page.requests);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      print(all, all.map(row));
      break;
    }
    case 'show':
      print(await rights.get(id!));
      break;
    case 'extend': {
      const days = Number(values.days);
      if (!values.reason || !Number.isInteger(days)) fail('extend needs --days N and --reason TEXT');
      print(await rights.extend(id!, days, values.reason));
      break;
    }
    case 'fulfil':
      print(await rights.fulfil(id!, values.note));
      break;
    case 'deny':
      if (!values.reason) fail('deny needs --reason TEXT');
      print(await rights.deny(id!, values.reason));
      break;
    case 'export-journal':
      for await (const entry of rights.journal()) process.stdout.write(`${JSON.stringify(entry)}\n`);
      break;
    case 'reapply-erasures': {
      let hashes: string[] | undefined;
      if (values.journal) {
        hashes = readFileSync(values.journal, 'utf8')
          .split('\n')
          .filter((line) => line.trim())
          .map((line, i) => {
            const hash = (JSON.parse(line) as { subjectHash?: unknown }).subjectHash;
            if (typeof hash !== 'string') fail(`${values.journal}: line ${i + 1} has no subjectHash`, 1);
            return hash;
          });
      }
      const result = await rights.reapplyErasures(restoredSubjects(), hashes);
      print(result, [{ checked: result.checked, matched: result.matched, ...result.erased }]);
      break;
    }
  }
} catch (error) {
  const e = error as { code?: string; message?: string; statusCode?: number };
  // The package's own errors carry a code and a message written for people; anything else, only its codes.
  if (e.code?.startsWith('HF_')) process.stderr.write(`${e.code}: ${e.message}\n`);
  else process.stderr.write(`${JSON.stringify(serializeError(error))}\n`);
  exitCode = 1;
} finally {
  await app.close();
}
process.exit(exitCode);
