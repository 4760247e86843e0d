// Dispatcher throughput (report): deliveries/s from the Postgres outbox to a local receiver, signed
// and POSTed, each attempt recorded. Postgres when DATABASE_URL is set (a temporary database), else
// in-memory PGlite. Part of `pnpm bench`.
import { createDatabase, migrate } from '@harakaflow/db';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import postgres from 'postgres';
import { memorySecretStore, WebhookService, webhooksMigrations } from '../src/index.js';

const baseUrl = process.env.DATABASE_URL?.trim() || undefined;
let url: string | undefined;
let admin: postgres.Sql | undefined;
const name = `hf_bench_webhooks_${randomBytes(4).toString('hex')}`;
if (baseUrl) {
  admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const target = new URL(baseUrl);
  target.pathname = `/${name}`;
  url = target.toString();
}
const handle = await createDatabase({ url, max: 8 });
await migrate(handle.db, [webhooksMigrations]);
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
const service = new WebhookService({ db: handle.db, secrets: memorySecretStore(), policy: { allowHttp: true, allowPrivate: true }, eventTypes: ['message.accepted'] });
await service.create('acct', { url: hook, events: ['*'] });
const n = url ? 3000 : 1000;
for (let i = 0; i < n; i++) await service.emit('acct', 'message.accepted', { messageId: randomBytes(8).toString('hex'), i });
const started = performance.now();
while ((await service.dispatch(50)) > 0);
const seconds = (performance.now() - started) / 1000;
server.close();
await handle.close();
if (admin) {
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
}
console.log(`webhooks: dispatcher, ${got} deliveries to a local receiver (${url ? 'Postgres' : 'PGlite'}, batches of 50): ${Math.round(got / seconds).toLocaleString('en')} deliveries/s (report)`);
