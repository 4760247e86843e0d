#!/usr/bin/env node
// `npx pnpm@10 hf-rights <command>`: the privacy request queue from the command line, on the same
// data as the API (DATABASE_URL, or the app's .data without it), and the re-application of erasures
// after a backup is restored. Human tables by default, `--json` for scripts.
import type { SubjectRef } from '@harakaflow/core';
import type { RightsRequest } from '@harakaflow/data-rights';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { cliApp, cliArgs, fail, printer, runCli } from './common.js';

const USAGE = `usage: hf-rights <command> [options]

  list [--status S] [--kind K] [--overdue] [--json]   the request queue, newest first
  show <id> [--json]                                  one request with its history and receipt (never a live export link)
  resend-export <id>                                  send a live export link to the person again (you never see it)
  lift <id> --reason TEXT                             lift a restriction in force; the account is told the reason
  extend <id> --days N --reason TEXT                  the one extension (at most 60 days)
  fulfil <id> [--note TEXT]                           a request handled outside the kit
  deny <id> --reason TEXT                             a denial, with its reason
  export-journal                                      the erasure journal as NDJSON (keep a copy outside the backups)
  reapply-erasures [--journal FILE] [--json]          after a restore: erase again every restored subject the journal lists

Environment: DATABASE_URL (unset: the app's embedded database under DATA_DIR), DATA_RIGHTS_SUBJECT_KEY,
DATA_RIGHTS_SIGNING_KEYS and the app's other secrets, as for the API. Exit codes: 0 done, 1 failed, 2 usage.`;

const { command, args, values } = cliArgs(
  USAGE,
  {
    status: { type: 'string' },
    kind: { type: 'string' },
    overdue: { type: 'boolean' },
    days: { type: 'string' },
    reason: { type: 'string' },
    note: { type: 'string' },
    journal: { type: 'string' },
  },
  ['list', 'show', 'extend', 'fulfil', 'deny', 'resend-export', 'lift', 'export-journal', 'reapply-erasures'],
);
const v = values as {
  status?: string;
  kind?: string;
  overdue?: boolean;
  days?: string;
  reason?: string;
  note?: string;
  journal?: string;
  json?: boolean;
};
const id = args[0];
if (['show', 'extend', 'fulfil', 'deny', 'resend-export', 'lift'].includes(command) && !id)
  fail(`${command} needs a request id\n\n${USAGE}`);
const app = await cliApp();
const print = printer(v.json);

const row = (r: RightsRequest) => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  subject: r.subject.kind,
  received: r.receivedAt.slice(0, 10),
  due: (r.extendedDueAt ?? r.dueAt).slice(0, 10),
});

/** The subjects a restored database holds: every account, and every contact of every account's message log. */
async function* restoredSubjects(): AsyncGenerator<SubjectRef> {
  const rows = async (query: ReturnType<typeof sql>) =>
    resultRows<Record<string, string>>(await app.database.db.execute(query));
  for (const { id: accountId } of await rows(sql`select id::text as id from app.accounts`))
    yield { kind: 'account', accountId: accountId! };
  for (const r of await rows(sql`select distinct account_id::text as account_id, "to" from app.message_log`))
    yield { kind: 'contact', accountId: r.account_id!, phone: r.to! };
}

await runCli(app, async () => {
  const rights = app.dataRights;
  switch (command) {
    case 'list': {
      const all: RightsRequest[] = [];
      let cursor: string | undefined;
      do {
        const page = await rights.list({
          status: v.status as never,
          kind: v.kind as never,
          overdue: v.overdue,
          cursor,
          limit: 200,
        });
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
      const days = Number(v.days);
      if (!v.reason || !Number.isInteger(days)) fail('extend needs --days N and --reason TEXT');
      print(await rights.extend(id!, days, v.reason));
      break;
    }
    case 'fulfil':
      print(await rights.fulfil(id!, v.note));
      break;
    case 'deny':
      if (!v.reason) fail('deny needs --reason TEXT');
      print(await rights.deny(id!, v.reason));
      break;
    case 'resend-export':
      print(await rights.resendExport(id!));
      break;
    case 'lift':
      if (!v.reason) fail('lift needs --reason TEXT');
      print(await rights.lift(id!, 'admin', { reason: v.reason }));
      break;
    case 'export-journal':
      for await (const entry of rights.journal()) process.stdout.write(`${JSON.stringify(entry)}\n`);
      break;
    case 'reapply-erasures': {
      let hashes: string[] | undefined;
      if (v.journal) {
        hashes = readFileSync(v.journal, 'utf8')
          .split('\n')
          .filter((line) => line.trim())
          .map((line, i) => {
            const hash = (JSON.parse(line) as { subjectHash?: unknown }).subjectHash;
            if (typeof hash !== 'string') fail(`${v.journal}: line ${i + 1} has no subjectHash`, 1);
            return hash;
          });
      }
      const result = await rights.reapplyErasures(restoredSubjects(), hashes);
      print(result, [{ checked: result.checked, matched: result.matched, ...result.erased }]);
      break;
    }
  }
});
