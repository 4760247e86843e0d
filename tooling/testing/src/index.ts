export { testDatabase } from './database.js';
export type { TestDatabase } from './database.js';
export { postgresUrl, redisUrl, requireServices } from './services.js';
export { captureLogs } from './logs.js';
export { testRedis } from './redis.js';
export { vectorsFile } from './vectors.js';
export type { TestRedis } from './redis.js';
export type { CapturedLogs } from './logs.js';
