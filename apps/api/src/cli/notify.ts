#!/usr/bin/env node
// `npx pnpm@10 hf-notify <command>`: the notification outbox from the command line, on the same data
// as the API (DATABASE_URL, or the app's .data without it).
import type { NotificationView } from '@harakaflow/notify';
import { cliApp, cliArgs, fail, printer, runCli } from './common.js';

const USAGE = `usage: hf-notify <command> [options]

  list [--status S] [--kind K] [--json]          the outbox, newest first (up to 1,000)
  counts [--json]                                pending, failed, and addresses bouncing
  retry --failed [--include-bouncing] [--json]   queue failed notifications again; --include-bouncing
                                                 also clears the bounce marks of their addresses

Environment: DATABASE_URL (unset: the app's embedded database under DATA_DIR) and the app's other
settings, as for the API. Exit codes: 0 done, 1 failed, 2 usage.`;

const { command, values } = cliArgs(
  USAGE,
  {
    status: { type: 'string' },
    kind: { type: 'string' },
    failed: { type: 'boolean' },
    'include-bouncing': { type: 'boolean' },
  },
  ['list', 'counts', 'retry'],
);
const v = values as { status?: string; kind?: string; failed?: boolean; 'include-bouncing'?: boolean; json?: boolean };
if (command === 'retry' && !v.failed) fail(`retry needs --failed (what to queue again)\n\n${USAGE}`);
const app = await cliApp();
const print = printer(v.json);

await runCli(app, async () => {
  switch (command) {
    case 'list': {
      const all: NotificationView[] = [];
      let cursor: string | undefined;
      do {
        const page = await app.notify.list({ status: v.status, kind: v.kind, cursor, limit: 200 });
        all.push(...page.notifications);
        cursor = page.nextCursor ?? undefined;
      } while (cursor && all.length < 1000);
      print(
        all,
        all.map((n) => ({
          id: n.id,
          kind: n.kind,
          status: n.status,
          attempts: n.attempts,
          created: n.createdAt.slice(0, 19),
          error: n.lastError ?? '',
        })),
      );
      break;
    }
    case 'counts': {
      const counts = await app.notify.counts();
      print(counts, [counts]);
      break;
    }
    case 'retry': {
      const queued = await app.notify.retryFailed({ includeBouncing: v['include-bouncing'] });
      print({ queued }, [{ queued }]);
      break;
    }
  }
});
