/**
 * Interned values of format-3 rows (issue 29): user agents (`audit.user_agents`, with what bowser
 * parsed from them), (method, route) pairs (`audit.routes`) and writer names (`audit.writers`).
 * Each writer keeps the ids it looked up in bounded LRUs, so a batch looks up only what it has
 * not seen, in one statement per table, before its transaction (a rolled-back batch never leaves
 * an id in a cache that the database does not have).
 *
 * A user agent's id is cached for the UTC day it was looked up: the lookup sets the row's
 * `last_seen` to that day, and retention (`audit.purge_user_agents`) deletes only rows last seen
 * before yesterday, so no writer ever holds the id of a deleted row. Parsing (bowser walks dozens
 * of regular expressions) happens only on a miss, never per request.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import { parseDevice } from './capture.js';
import { pgArray } from './pg-array.js';

/** What a batch needs interned: its events' user agents, (method, route) pairs and writers. */
export interface InternKeys {
  userAgents: Set<string>;
  routes: Set<string>;
  writers: Set<string>;
}

/**
 * The ids a batch looked up, kept for that batch whatever the LRUs evict meanwhile (a batch may
 * carry more new user agents than the cache holds, and another batch may look up at the same time).
 */
export interface LookedUp {
  userAgents: Map<string, number>;
  routes: Map<string, number>;
  writers: Map<string, number>;
}

/** The key of a (method, route) pair: NUL cannot occur in either. */
export const routeKey = (method: string | null, route: string | null): string => `${method ?? ''}\u0000${route ?? ''}`;

const DAY_MS = 86_400_000;

export class Interned {
  readonly #userAgents: LRUCache<string, { id: number; day: number }>;
  readonly #routes = new LRUCache<string, number>({ max: 2000 });
  /** (method, route) -> id without building a key string per event: method, then route ('' for null). */
  readonly #routeIds = new Map<string, Map<string, number>>();
  readonly #writers = new LRUCache<string, number>({ max: 100 });
  /** Lookups made (misses), for tests and the benchmark. */
  readonly stats = { userAgentLookups: 0, routeLookups: 0, writerLookups: 0 };

  constructor(userAgentCacheSize = 1000) {
    this.#userAgents = new LRUCache({ max: userAgentCacheSize });
  }

  /** The id of a user agent cached for today, or undefined (look it up). */
  userAgent(ua: string, today = Math.floor(Date.now() / DAY_MS)): number | undefined {
    const hit = this.#userAgents.get(ua);
    return hit && hit.day === today ? hit.id : undefined;
  }

  route(key: string): number | undefined {
    return this.#routes.get(key);
  }

  /** The id of a (method, route) pair looked up before, or undefined. */
  routeId(method: string | null, route: string | null): number | undefined {
    return this.#routeIds.get(method ?? '')?.get(route ?? '');
  }

  writer(name: string): number | undefined {
    return this.#writers.get(name);
  }

  /** Looks up (inserting what is new) every key not cached; returns their ids (the cached ones stay in the LRUs). */
  async resolve(db: Database, keys: InternKeys): Promise<LookedUp> {
    const found: LookedUp = { userAgents: new Map(), routes: new Map(), writers: new Map() };
    const today = Math.floor(Date.now() / DAY_MS);
    const uas = [...keys.userAgents].filter((ua) => this.userAgent(ua, today) === undefined);
    const routes = [...keys.routes].filter((k) => !this.#routes.has(k));
    const writers = [...keys.writers].filter((w) => !this.#writers.has(w));
    if (uas.length) {
      this.stats.userAgentLookups += uas.length;
      const parsed = uas.map(parseDevice);
      // DO UPDATE (not NOTHING): the row comes back even when another writer inserted it first,
      // and last_seen moves to today, so retention leaves it alone while this id is cached.
      const rows = resultRows<{ id: number; user_agent: string }>(
        await db.execute(sql`insert into audit.user_agents (user_agent, browser_name, browser_version, os_name, os_version, device_type)
          select * from unnest(${pgArray(uas, (u) => u)}::text[], ${pgArray(parsed, (d) => d.browserName)}::text[], ${pgArray(parsed, (d) => d.browserVersion)}::text[],
            ${pgArray(parsed, (d) => d.osName)}::text[], ${pgArray(parsed, (d) => d.osVersion)}::text[], ${pgArray(parsed, (d) => d.deviceType)}::text[])
          on conflict (user_agent) do update set last_seen = greatest(audit.user_agents.last_seen, excluded.last_seen)
          returning id, user_agent`),
      );
      for (const r of rows) {
        this.#userAgents.set(r.user_agent, { id: Number(r.id), day: today });
        found.userAgents.set(r.user_agent, Number(r.id));
      }
    }
    if (routes.length) {
      this.stats.routeLookups += routes.length;
      const pairs = routes.map((k) => k.split('\u0000') as [string, string]);
      const rows = resultRows<{ id: number; method: string; route: string }>(
        await db.execute(sql`insert into audit.routes (method, route) select * from unnest(${pgArray(pairs, (p) => p[0])}::text[], ${pgArray(pairs, (p) => p[1])}::text[])
          on conflict (method, route) do update set method = excluded.method returning id, method, route`),
      );
      for (const r of rows) {
        this.#routes.set(`${r.method}\u0000${r.route}`, Number(r.id));
        found.routes.set(`${r.method}\u0000${r.route}`, Number(r.id));
        let byRoute = this.#routeIds.get(r.method);
        // Bounded like the LRU: past 2000 pairs, start over (they are looked up again).
        if (this.#routeIds.size > 2000) this.#routeIds.clear();
        if (!byRoute) this.#routeIds.set(r.method, (byRoute = new Map()));
        if (byRoute.size > 2000) byRoute.clear();
        byRoute.set(r.route, Number(r.id));
      }
    }
    if (writers.length) {
      this.stats.writerLookups += writers.length;
      const rows = resultRows<{ id: number; name: string }>(
        await db.execute(sql`insert into audit.writers (name) select * from unnest(${pgArray(writers, (w) => w)}::text[])
          on conflict (name) do update set name = excluded.name returning id, name`),
      );
      for (const r of rows) {
        this.#writers.set(r.name, Number(r.id));
        found.writers.set(r.name, Number(r.id));
      }
    }
    return found;
  }

  /** Forgets every user agent id (a test of the daily refresh, or after a purge run in this process). */
  forgetUserAgents(): void {
    this.#userAgents.clear();
  }
}
