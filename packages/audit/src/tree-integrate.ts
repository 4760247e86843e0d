/** Integrating the writers' committed segments into the tree (`integrate`), and signing its new head. */
import type { SigningKey } from '@harakaflow/core';
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { checkpointValid } from './checkpoints.js';
import { Frontier, leafHash } from './merkle.js';
import { readHorizon } from './partitions.js';
import { pgArray } from './pg-array.js';
import { headBody, rangeLink, type HeadSigner } from './tree-head.js';
import { BLOCK_LEVEL, bytes, hex, type RangeRow } from './tree-store.js';

export interface IntegrateOptions {
  db: Database;
  /** The checkpoint HMAC keys: the horizon is named in a head only when its signature holds. */
  checkpointKeys: readonly SigningKey[];
  signer?: HeadSigner | null | undefined;
  /** Most leaves appended by one run (the rest wait for the next). Default 50,000. */
  maxLeaves?: number | undefined;
}

export interface IntegrateResult {
  appended: number;
  size: number;
  root: Buffer;
  /** The head signed by this run, when it signed one. */
  note: string | null;
}

interface Pending {
  writer: string;
  day: string;
  count: number;
  included: number;
  lastId: string | null;
}

/**
 * Appends what the writers committed since the last run, in one transaction, and signs the new
 * head. Returns null when another replica holds the tree (it is integrating now).
 */
export async function integrate(o: IntegrateOptions): Promise<IntegrateResult | null> {
  const budget = o.maxLeaves ?? 50_000;
  return o.db.transaction(async (txn) => {
    const tx = txn as unknown as Database;
    const [state] = resultRows<{
      size: string;
      frontier: unknown;
      note: string | null;
      note_size: string | null;
      ranges_count: string;
      ranges_hash: unknown;
    }>(
      await tx.execute(
        sql`select size::text as size, frontier, note, note_size::text as note_size, ranges_count::text as ranges_count, ranges_hash from audit.tree_state where id for update skip locked`,
      ),
    );
    if (!state) return null;
    const frontier = Frontier.fromBytes(Number(state.size), bytes(state.frontier));
    const horizon = await readHorizon(tx, o.checkpointKeys);
    // A horizon is signed only when its HMAC holds and it leaves the last week (no purge reaches it).
    const validHorizon =
      horizon?.valid && horizon.day <= new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10)
        ? horizon.day
        : null;
    // Only segments whose checkpoint verifies under the HMAC keys: a row written by hand (a count
    // bumped, a writer run under another key) must not be signed into the tree. Read in pages
    // (oldest day first) until the budget is spent: segments that never complete (forged, or
    // stuck) must not hold the rest out. Days before the horizon only when its HMAC holds.
    const pending: Pending[] = [];
    for (let cursor: { day: string; writer: string } | null = null; ;) {
      type Row = {
        writer: string;
        day: string;
        count: number;
        last_hash: string;
        closed: boolean;
        mac: string;
        included: number;
        last_id: string | null;
      };
      const page: Row[] = resultRows<Row>(
        await tx.execute(sql`select c.writer, c.day::text as day, c.count, c.last_hash, c.closed, c.mac, coalesce(s.included, 0) as included, s.last_id::text as last_id
          from audit.checkpoints c left join audit.tree_segments s on s.writer = c.writer and s.day = c.day
          where c.count > coalesce(s.included, 0) and (${validHorizon}::date is null or c.day >= ${validHorizon}::date)
            ${cursor ? sql`and (c.day, c.writer) > (${cursor.day}::date, ${cursor.writer})` : sql``}
          order by c.day, c.writer limit 500`),
      );
      for (const r of page) {
        if (
          !checkpointValid(o.checkpointKeys, {
            writer: r.writer,
            day: r.day,
            count: Number(r.count),
            lastHash: r.last_hash,
            closed: r.closed === true || (r.closed as unknown) === 't',
            mac: r.mac,
          })
        )
          continue;
        pending.push({
          writer: r.writer,
          day: r.day,
          count: Number(r.count),
          included: Number(r.included),
          lastId: r.last_id,
        });
      }
      if (page.length < 500) break;
      cursor = { day: page[page.length - 1]!.day, writer: page[page.length - 1]!.writer };
    }

    const staleDay = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    const nodes: { level: number; index: number; hash: Buffer }[] = [];
    const onNode = (level: number, index: number, hash: Buffer) => {
      if (level >= BLOCK_LEVEL) nodes.push({ level, index, hash });
    };
    const ranges: RangeRow[] = [];
    const progress: { writer: string; day: string; included: number; lastId: string }[] = [];
    let appended = 0;
    for (const p of pending) {
      if (appended >= budget) break;
      let expected = p.included;
      let after = p.lastId ?? '00000000-0000-0000-0000-000000000000';
      let range: (typeof ranges)[number] | null = null;
      for (;;) {
        const want = Math.min(5000, budget - appended, p.count - expected);
        if (want <= 0) break;
        const rows = resultRows<{ id: string; seq: number; hash: unknown }>(
          await tx.execute(sql`select e.id::text as id, e.seq, coalesce(e.hash_bytes, decode(e.hash, 'hex')) as hash from audit.events e
            where e.day = ${p.day}::date and e.id > ${after}::uuid
              and (e.writer = ${p.writer} or e.writer_id = (select w.id from audit.writers w where w.name = ${p.writer}))
            order by e.id limit ${want}`),
        );
        let stop = rows.length < want;
        for (const r of rows) {
          // A hole (not committed yet, or lost): this segment waits there, until its day is two
          // days gone (a lost spill file never fills it; verify reports it as missing), then goes on after it.
          if (Number(r.seq) !== expected) {
            if (Number(r.seq) > expected && p.day < staleDay) {
              expected = Number(r.seq);
              range = null;
            } else {
              stop = true;
              break;
            }
          }
          const hash = bytes(r.hash);
          if (hash.length !== 32) {
            stop = true;
            break;
          }
          if (!range)
            ranges.push(
              (range = {
                start: frontier.size,
                writer: p.writer,
                day: p.day,
                firstSeq: expected,
                count: 0,
                firstId: r.id,
                lastId: r.id,
              }),
            );
          frontier.append(leafHash(hash), onNode);
          range.count++;
          range.lastId = r.id;
          after = r.id;
          expected++;
          appended++;
        }
        if (stop) break;
      }
      if (range) progress.push({ writer: p.writer, day: p.day, included: expected, lastId: after });
    }

    const root = frontier.root();
    const chain = { count: Number(state.ranges_count), hash: bytes(state.ranges_hash) };
    for (const r of ranges) {
      chain.hash = rangeLink(chain.hash, r);
      chain.count++;
    }
    const body = o.signer ? headBody(o.signer.origin, frontier.size, root, validHorizon, chain) : null;
    // Sign when the tree grew, when the horizon moved, or when nothing signed the current size yet.
    const stale =
      body !== null &&
      (appended > 0 ||
        state.note === null ||
        Number(state.note_size) !== frontier.size ||
        !state.note.startsWith(body));
    const note = stale ? o.signer!.signNote(body) : null;
    if (!appended && !note) return { appended: 0, size: frontier.size, root, note: null };

    if (ranges.length) {
      await tx.execute(sql`insert into audit.tree_ranges (start, writer, day, first_seq, count, first_id, last_id)
        select * from unnest(${pgArray(ranges, (r) => String(r.start))}::bigint[], ${pgArray(ranges, (r) => r.writer)}::text[], ${pgArray(ranges, (r) => r.day)}::date[],
          ${pgArray(ranges, (r) => String(r.firstSeq))}::int[], ${pgArray(ranges, (r) => String(r.count))}::int[], ${pgArray(ranges, (r) => r.firstId)}::uuid[], ${pgArray(ranges, (r) => r.lastId)}::uuid[])`);
      await tx.execute(sql`insert into audit.tree_segments (writer, day, included, last_id)
        select * from unnest(${pgArray(progress, (r) => r.writer)}::text[], ${pgArray(progress, (r) => r.day)}::date[], ${pgArray(progress, (r) => String(r.included))}::int[], ${pgArray(progress, (r) => r.lastId)}::uuid[])
        on conflict (writer, day) do update set included = excluded.included, last_id = excluded.last_id`);
    }
    if (nodes.length) {
      await tx.execute(sql`insert into audit.tree_nodes (level, idx, hash)
        select l, i, decode(h, 'hex') from unnest(${pgArray(nodes, (n) => String(n.level))}::smallint[], ${pgArray(nodes, (n) => String(n.index))}::bigint[], ${pgArray(nodes, (n) => hex(n.hash))}::text[]) as t(l, i, h)
        on conflict do nothing`);
    }
    await tx.execute(sql`update audit.tree_state set size = ${frontier.size}, frontier = decode(${hex(frontier.bytes())}, 'hex'), root = decode(${hex(root)}, 'hex'),
      note = coalesce(${note}, note), note_size = case when ${note}::text is null then note_size else ${frontier.size} end,
      ranges_count = ${chain.count}, ranges_hash = decode(${hex(chain.hash)}, 'hex'), updated_at = now() where id`);
    if (note) {
      await tx.execute(sql`insert into audit.tree_heads (hour, size, root, note) values (date_trunc('hour', now()), ${frontier.size}, decode(${hex(root)}, 'hex'), ${note})
        on conflict (hour) do update set size = excluded.size, root = excluded.root, note = excluded.note where audit.tree_heads.size <= excluded.size`);
    }
    return { appended, size: frontier.size, root, note };
  });
}
