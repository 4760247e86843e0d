// Security review M4: the send timeout was a socket idle timeout, so a receiver answering 200 and
// then trickling its body a byte at a time held one attempt for as long as it liked (at 64 KiB and
// a byte every 14 s, days): past the claim lease, claimed again by other replicas. Now the timeout
// is the attempt's whole deadline, and the batch's other deliveries are sent and recorded while the
// slow one hangs.
import { testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memorySecretStore, WebhookService, webhooksMigrations } from '../../src/index.js';

const DEADLINE_MS = 5000;
const TRICKLE_EVERY_MS = 200;
/** The trickle lasts 150 bytes (30 s) if nothing stops it: six times the deadline. */
const TRICKLE_BYTES = 150;

let db: TestDatabase;
let server: Server;
let base: string;
/** What the trickling answer came to: cut by the sender, or finished. */
const trickles: ('cut' | 'finished')[] = [];

beforeAll(async () => {
  db = await testDatabase({ migrations: [webhooksMigrations] });
  // A receiver of this test's own: /fast answers 204 at once; /slow answers 200, then its body a
  // byte every 200 ms.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url !== '/slow') return void res.writeHead(204).end();
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const timer = setInterval(() => {
        res.write('.');
        if (++sent === TRICKLE_BYTES) {
          clearInterval(timer);
          trickles.push('finished');
          res.end();
        }
      }, TRICKLE_EVERY_MS);
      res.on('close', () => {
        if (sent < TRICKLE_BYTES) {
          clearInterval(timer);
          trickles.push('cut');
        }
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await db.close();
});

const rows = async (query: ReturnType<typeof sql>) => {
  const r = (await db.db.execute(query)) as unknown as Record<string, unknown>[] | { rows: Record<string, unknown>[] };
  return Array.isArray(r) ? r : r.rows;
};

it('ends a trickling answer at the deadline as ETIMEDOUT, while the batch delivers the others', async () => {
  const s = new WebhookService({
    db: db.db,
    secrets: memorySecretStore(),
    policy: { allowHttp: true, allowPrivate: true },
    eventTypes: ['message.accepted'],
    sendTimeoutMs: DEADLINE_MS,
  });
  await s.create('acct-slow', { url: `${base}/slow`, events: ['*'] });
  await s.create('acct-fast', { url: `${base}/fast`, events: ['*'] });
  await s.emit('acct-slow', 'message.accepted', { n: 0 });
  for (let n = 1; n <= 3; n++) await s.emit('acct-fast', 'message.accepted', { n });

  let batchDone = false;
  const batch = s.dispatch(10).then((n) => {
    batchDone = true;
    return n;
  });
  // The other three are delivered and recorded while the slow answer is still trickling.
  await until(
    async () =>
      (
        await rows(
          sql`select count(*)::int as n from webhooks.deliveries where account_id = 'acct-fast' and status = 'delivered'`,
        )
      )[0]!.n === 3,
  );
  expect(trickles).toEqual([]);
  expect(batchDone).toBe(false);

  expect(await batch).toBe(4);
  const [slow] = await rows(
    sql`select a.status_code, a.error, a.duration_ms, d.status from webhooks.attempts a join webhooks.deliveries d on d.id = a.delivery_id where d.account_id = 'acct-slow'`,
  );
  // Ended by its deadline, measured from its own start: not by the trickle's end (six times later).
  expect(slow).toMatchObject({ status_code: null, error: 'ETIMEDOUT', status: 'pending' });
  expect(Number(slow!.duration_ms)).toBeGreaterThanOrEqual(DEADLINE_MS - 1);
  // Within the claim's lease (twice the timeout and 5 s, dispatcher.ts): no other replica claims it meanwhile.
  expect(Number(slow!.duration_ms)).toBeLessThan(DEADLINE_MS * 2 + 5000);
  await until(() => trickles.length === 1);
  expect(trickles).toEqual(['cut']);
});
