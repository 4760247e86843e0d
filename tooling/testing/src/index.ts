export { testDatabase } from './database.js';
export type { TestDatabase } from './database.js';
export { postgresUrl, redisUrl, requireServices } from './services.js';
export { captureLogs } from './logs.js';
export { testRedis } from './redis.js';
export { vectorsFile } from './vectors.js';
export type { TestRedis } from './redis.js';
export type { CapturedLogs } from './logs.js';
export { tcpProxy } from './proxy.js';
export type { TcpProxy } from './proxy.js';
export { startSmtp, until } from './smtp.js';
export { startReceiver } from './receiver.js';
export type { Answer, ReceivedRequest, Receiver, ReceiverAnswer } from './receiver.js';
export type { Received } from './smtp.js';
export { DELIVERY_REPORTS, deliveryReport } from './delivery-reports.js';
export type { DeliveryReportName, SentMessage } from './delivery-reports.js';
export { freePort } from './ports.js';
export { backendPid, holdServer, pgbouncerAvailable, testPgbouncer } from './pgbouncer.js';
export type { TestPgbouncer } from './pgbouncer.js';
export {
  cli as redisCli,
  redisServersAvailable,
  replicated,
  startClusterRedis,
  startSentinelRedis,
  startTlsRedis,
} from './redis-servers.js';
export type { ClusterRedis, RedisNode, SentinelRedis, Shard, TlsRedis } from './redis-servers.js';
export { expectDataDirRefused } from './cli-refusal.js';
export { fromDist } from './from-dist.js';
export { dovecotAvailable, startDovecot } from './dovecot.js';
export type { TestDovecot } from './dovecot.js';
export { pgliteDump, pgliteTemplate, seedPglite } from './pglite-seed.js';
export { outsiderVerifies, rootFromPath } from './rfc6962.js';
export type { ServedProof } from './rfc6962.js';
export { standardWebhookVerifies } from './standard-webhooks.js';
