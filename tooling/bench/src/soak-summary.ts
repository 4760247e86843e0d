// The soak's summary: per phase requests, answers and p50/p99, per kind the statuses, the checks;
// written to .bench/soak.json and printed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditTally, Check } from './soak-checks.js';
import type { Sample } from './soak-traffic.js';

export interface RunReport {
  root: string;
  work: string;
  seconds: number;
  rate: number;
  samples: readonly Sample[];
  phases: readonly { name: string; from: number; to: number }[];
  faults: {
    killAt: number;
    restartedAt: number;
    spillFilesAtKill: number;
    postgresRestartAt: number;
    postgresBackAt: number;
  };
  audit: AuditTally;
  checks: readonly Check[];
}

/** Writes and prints the summary; answers whether every check passed. */
export function report(r: RunReport): boolean {
  const pct = (xs: number[], p: number) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length
      ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10
      : null;
  };
  const byPhase = r.phases.map((p) => {
    const inside = r.samples.filter((s) => s.at >= p.from && s.at < p.to);
    const ok = inside.filter((s) => s.status >= 200 && s.status < 300);
    return {
      phase: p.name,
      fromMs: p.from,
      toMs: p.to,
      requests: inside.length,
      ok: ok.length,
      refused4xx: inside.filter((s) => s.status >= 400 && s.status < 500).length,
      failed: inside.filter((s) => s.status === 0 || s.status >= 500).length,
      p50Ms: pct(
        ok.map((s) => s.ms),
        50,
      ),
      p99Ms: pct(
        ok.map((s) => s.ms),
        99,
      ),
    };
  });
  const summary = {
    date: new Date().toISOString(),
    seconds: r.seconds,
    rate: r.rate,
    requests: r.samples.length,
    faults: r.faults,
    audit: r.audit,
    phases: byPhase,
    // Per kind of request, how many answered each status (0: refused, reset or timed out).
    statuses: Object.fromEntries(
      [...new Set(r.samples.map((s) => s.kind))].map((kind) => [
        kind,
        Object.fromEntries(
          [...new Set(r.samples.filter((s) => s.kind === kind).map((s) => s.status))]
            .sort()
            .map((st) => [st, r.samples.filter((s) => s.kind === kind && s.status === st).length]),
        ),
      ]),
    ),
    checks: r.checks,
    ok: r.checks.every((c) => c.ok),
  };
  mkdirSync(join(r.root, '.bench'), { recursive: true });
  writeFileSync(join(r.root, '.bench/soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.table(byPhase);
  console.log('statuses per kind:', JSON.stringify(summary.statuses));
  for (const c of r.checks) console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  console.log(
    summary.ok
      ? 'soak passed; written to .bench/soak.json'
      : `soak FAILED (logs kept in ${r.work}); written to .bench/soak.json`,
  );
  return summary.ok;
}
