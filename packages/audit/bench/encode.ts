// CPU per access event of what the writer does off the request path, format 2 against format 3
// (issue 29): chaining (id, salt, digest, hash) and encoding a batch for the database (format 2's
// 30 UNNEST array literals, format 3's binary COPY rows). No database: the interned ids are taken
// as known. Rounds are interleaved and the minimum of 8 kept, so a busy machine skews both alike.
//   node --import tsx bench/encode.ts
import { canonicalJson } from '@harakaflow/core';
import { Chain } from '../src/chain.js';
import type { AuditEvent, AuditEventInput } from '../src/event.js';
import type { Event3 } from '../src/format3.js';
import { Interned } from '../src/intern.js';
import { pgArray } from '../src/pg-array.js';
import { CopyEncoder } from '../src/pgcopy.js';
import { encodeCopy } from '../src/writes-encode.js';

const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const input = (i: number, version: 2 | 3): AuditEventInput => ({
  kind: 'access',
  action: 'http.request',
  requestId: `req-${i.toString(36)}`,
  method: 'GET',
  route: '/v1/things/:id',
  path: `/v1/things/${i}`,
  status: 200,
  durationMs: 1.234,
  subjectId: '6f1c2c1e-2b7c-4c55-9d1e-1f2a3b4c5d6e',
  ip: '203.0.113.7',
  ipInvalid: false,
  userAgent: UA,
  ...(version === 3
    ? {}
    : {
        browserName: 'Chrome',
        browserVersion: '120.0.0.0',
        osName: 'Windows',
        osVersion: 'NT 10.0',
        deviceType: 'desktop' as const,
      }),
});
const N = 100_000;
const writer = 'api-7f9c8d6b5-x2kqz-1234-ab12cd34';
const inputs2 = Array.from({ length: N }, (_, i) => input(i, 2));
const inputs3 = Array.from({ length: N }, (_, i) => input(i, 3));
const now = Date.now();
const chain2 = new Chain(writer, 2);
const sealed2 = inputs2.map((x) => chain2.next(x, now).event as AuditEvent);
const chain3 = new Chain(writer, 3);
const sealed3 = inputs3.map((x) => chain3.next(x, now).event as Event3);

/** Ids every event's values are interned as (a writer that has seen them all). */
class Known extends Interned {
  override userAgent(): number {
    return 1;
  }
  override routeId(): number {
    return 2;
  }
  override writer(): number {
    return 3;
  }
}
const interned = new Known();
const encoder = new CopyEncoder([], 1 << 20);
const text = (v: string | null) => v;
const num = (v: number | null) => (v === null ? null : String(v));
const LEGACY: ((e: AuditEvent) => string | null)[] = [
  (e) => e.id,
  (e) => e.occurredAt.toISOString(),
  (e) => e.writer,
  (e) => e.day,
  (e) => String(e.seq),
  (e) => e.kind,
  (e) => e.action,
  (e) => text(e.resource),
  (e) => text(e.outcome),
  (e) => text(e.requestId),
  (e) => text(e.method),
  (e) => text(e.route),
  (e) => text(e.path),
  (e) => num(e.status),
  (e) => num(e.durationMs),
  (e) => text(e.subjectId),
  (e) => text(e.ip),
  (e) => (e.ipInvalid ? 't' : 'f'),
  (e) => text(e.userAgent),
  (e) => text(e.browserName),
  (e) => text(e.browserVersion),
  (e) => text(e.osName),
  (e) => text(e.osVersion),
  (e) => text(e.deviceType),
  (e) => (e.details == null ? null : canonicalJson(e.details)),
  (e) => text(e.personalSalt),
  (e) => e.personalDigest,
  (e) => e.prevHash,
  (e) => e.hash,
  (e) => String(e.chainVersion),
];

const modes: [string, () => void][] = [
  [
    'chain, format 2 (JSON layouts)',
    () => {
      const c = new Chain(writer, 2);
      for (const x of inputs2) c.next(x, now);
    },
  ],
  [
    'chain, format 3 (one fixed layout)',
    () => {
      const c = new Chain(writer, 3);
      for (const x of inputs3) c.next(x, now);
    },
  ],
  [
    'encode, format 2 (30 UNNEST array literals)',
    () => {
      for (let i = 0; i < N; i += 1000) for (const get of LEGACY) pgArray(sealed2.slice(i, i + 1000), get);
    },
  ],
  [
    'encode, format 3 (binary COPY rows)',
    () => {
      for (let i = 0; i < N; i += 1000)
        encodeCopy(
          encoder,
          sealed3.slice(i, i + 1000),
          { interned, found: { userAgents: new Map(), routes: new Map(), writers: new Map() } },
          new Map(),
        );
    },
  ],
];
const best = new Map<string, number>();
for (let round = 0; round < 8; round++) {
  for (const [name, run] of modes) {
    const before = process.cpuUsage();
    run();
    const used = process.cpuUsage(before);
    best.set(name, Math.min(best.get(name) ?? Infinity, (used.user + used.system) / N));
  }
}
console.log(`CPU per access event, ${N.toLocaleString('en')} events per round (minimum of 8 interleaved rounds):`);
for (const [name, us] of best) console.log(`  ${name.padEnd(46)} ${us.toFixed(2)} µs`);
