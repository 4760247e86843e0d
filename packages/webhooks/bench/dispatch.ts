// Dispatcher throughput (report): deliveries/s from the Postgres outbox to a local receiver, signed
// and POSTed, each attempt recorded. Postgres when DATABASE_URL is set (a temporary database), else
// in-memory PGlite. Part of `pnpm bench`.
import { testDatabase } from '@harakaflow/testing';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { memorySecretStore, WebhookService, webhooksMigrations } from '../src/index.js';

// A database of its own on DATABASE_URL's server, dropped by close(); PGlite without it.
const handle = await testDatabase({
  migrations: [webhooksMigrations],
  max: 8,
  serverUrl: process.env.DATABASE_URL?.trim() || undefined,
});
const url = handle.url;
let got = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    got++;
    res.writeHead(204).end();
  });
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
const service = new WebhookService({
  db: handle.db,
  secrets: memorySecretStore(),
  policy: { allowHttp: true, allowPrivate: true },
  eventTypes: ['message.accepted'],
});
await service.create('acct', { url: hook, events: ['*'] });
const n = url ? 3000 : 1000;
for (let i = 0; i < n; i++)
  await service.emit('acct', 'message.accepted', { messageId: randomBytes(8).toString('hex'), i });
const started = performance.now();
while ((await service.dispatch(50)) > 0);
const seconds = (performance.now() - started) / 1000;
server.close();
await handle.close();
console.log(
  `webhooks: dispatcher, ${got} deliveries to a local receiver (${url ? 'Postgres' : 'PGlite'}, batches of 50): ${Math.round(got / seconds).toLocaleString('en')} deliveries/s (report)`,
);
