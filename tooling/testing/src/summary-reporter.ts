import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';

/**
 * Prints why each skipped test was skipped (issue 31 item 6), then the closing line CI reads:
 * `N passed, N failed` (plus skipped when there are any).
 *
 * A skip's reason is the note of `context.skip(note)`, else the condition of the `.skipIf(...)`,
 * `.runIf(...)` or `if (...) context.skip()` that skipped it (on the test, or on a describe around
 * it), read from the source and said in words for the services the tests need; a condition not
 * known here is quoted as written.
 */
export default class SummaryReporter implements Reporter {
  private readonly root = process.cwd();
  private readonly sources = new Map<string, string[]>();

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    // reason → file → count
    const reasons = new Map<string, Map<string, number>>();
    for (const module of testModules) {
      let moduleTests = 0;
      for (const test of module.children.allTests()) {
        moduleTests++;
        const result = test.result();
        if (result.state === 'passed') passed++;
        else if (result.state === 'failed') failed++;
        else {
          skipped++;
          const reason = (result.state === 'skipped' && result.note) || this.reason(test);
          const file = relative(this.root, module.moduleId);
          const files = reasons.get(reason) ?? new Map<string, number>();
          files.set(file, (files.get(file) ?? 0) + 1);
          reasons.set(reason, files);
        }
      }
      // A file that fails before any test runs (a missing service under REQUIRE_SERVICES=1, a syntax
      // error) must not vanish from the count.
      if (moduleTests === 0 && module.state() === 'failed') failed++;
    }
    failed += unhandledErrors.length;
    if (skipped) {
      const lines = [...reasons].map(([reason, files]) => {
        const n = [...files.values()].reduce((a, b) => a + b, 0);
        return `  ${n} skipped: ${reason}\n    ${[...files].map(([file, count]) => `${file} (${count})`).join(', ')}`;
      });
      process.stdout.write(`\nSkipped tests, and why:\n${lines.join('\n')}\n`);
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }

  /** Why a test without a note was skipped: the nearest skip condition in its source. */
  private reason(test: TestCase): string {
    const lines = this.source(test.module.moduleId);
    if (!lines) return 'skipped (its source could not be read)';
    // The test's own line, then each describe around it.
    for (let task: TestCase | TestSuite | TestModule = test; task.type !== 'module'; task = task.parent) {
      const line = task.location ? lines[task.location.line - 1] : undefined;
      const condition = line && argument(line, /\.(skipIf|runIf)\(/);
      if (condition) return explain(condition.text, condition.kind, lines);
    }
    // `if (condition) return context.skip();` in the test's body.
    if (test.location) {
      for (let i = test.location.line - 1; i < Math.min(lines.length, test.location.line + 40); i++) {
        if (!/\.skip\(\)/.test(lines[i]!)) continue;
        const condition = argument(lines[i]!, /\bif \(/);
        if (condition) {
          const comment = /\/\/\s*(.+)$/.exec(lines[i]!)?.[1];
          return comment
            ? `${explain(condition.text, 'if', lines)} (${comment.trim()})`
            : explain(condition.text, 'if', lines);
        }
      }
    }
    if (test.options.mode === 'todo') return 'todo';
    return 'marked .skip, filtered out (-t), or another test is marked .only';
  }

  private source(file: string): string[] | null {
    if (!this.sources.has(file)) {
      try {
        this.sources.set(file, readFileSync(file, 'utf8').split('\n'));
      } catch {
        return null;
      }
    }
    return this.sources.get(file)!;
  }
}

/** The text between the parentheses that follow `opening` on this line (balanced), if any. */
function argument(line: string, opening: RegExp): { text: string; kind: string } | null {
  const match = opening.exec(line);
  if (!match) return null;
  let depth = 1;
  const start = match.index + match[0].length;
  for (let i = start; i < line.length; i++) {
    if (line[i] === '(') depth++;
    else if (line[i] === ')' && --depth === 0) return { text: line.slice(start, i).trim(), kind: match[1] ?? 'if' };
  }
  return null;
}

/** What the services the tests need are called in a skip condition, and how to provide them. */
const NEEDS: [RegExp, string][] = [
  [/pgbouncer/i, 'PgBouncer (the pgbouncer binary, or PGBOUNCER_URL)'],
  [
    /redisServersAvailable/,
    'redis-server, redis-sentinel, redis-cli and openssl (the TLS, Sentinel and Cluster servers)',
  ],
  [/postgresUrl|\bserver\b|database\.url|onPostgres/, 'a real PostgreSQL: TEST_DATABASE_URL'],
  [/redisUrl|\bredis\b/, 'Redis: REDIS_URL'],
  [/chromium/i, 'Chromium (CHROMIUM_PATH, default /usr/bin/chromium)'],
  [/dovecot/i, 'Dovecot (apt-get install -y dovecot-imapd): the IMAP server the privacy mailbox tests start'],
  [/wycheproof|knownFile|\bfile\b/i, 'a test vector file that is not present'],
];

function explain(condition: string, kind: string, lines: string[]): string {
  // A bare name (`skipIf(skip)`): what it was set to, `const skip = ...;` in the same file.
  const name = /^!?([A-Za-z_$][\w$]*)$/.exec(condition)?.[1];
  const set = name
    ? lines.map((l) => new RegExp(`\\b(?:const|let) ${name} = (.+?);?$`).exec(l)?.[1]).find(Boolean)
    : undefined;
  const meaning = set ? `${condition} ${set}` : condition;
  const needs = NEEDS.filter(([pattern]) => pattern.test(meaning)).map(([, what]) => what);
  const written = `${kind}(${condition})${set ? `, ${name} = ${set}` : ''}`;
  return needs.length ? `needs ${needs.join(' and ')} [${written}]` : `condition ${written} held`;
}
