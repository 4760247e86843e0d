// Micro-benchmark of verifyWebhook on a 1 KiB body (goal: at least 200,000 verifications/s on the
// project's 2-core machine, one thread). Part of `pnpm bench`.
import { randomBytes } from 'node:crypto';
import { generateSecret, signWebhook, verifyHubSignature, hubSignature, verifyWebhook } from '../src/index.js';

const secret = generateSecret();
// A JSON body of exactly 1 KiB.
const head = '{"type":"message.accepted","data":{"pad":"';
const tail = '"}}';
const body = Buffer.from(
  head +
    randomBytes(1024)
      .toString('base64')
      .slice(0, 1024 - head.length - tail.length) +
    tail,
);
const now = Date.now();
const headers = signWebhook({
  id: 'msg_2f1c2c1e2b7c4c559d1e1f2a',
  timestamp: new Date(now),
  payload: body,
  secrets: secret,
});
const hub = hubSignature(body, 'meta-app-secret');

function rate(fn: () => boolean, ms: number): number {
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) if (!fn()) throw new Error('verification failed');
    n += 1000;
  }
  return (n / ms) * 1000;
}
const median = (fn: () => boolean) => {
  rate(fn, 500); // warm-up
  const rates = Array.from({ length: 5 }, () => rate(fn, 1000)).sort((a, b) => a - b);
  return Math.round(rates[2]!).toLocaleString('en');
};
const standard = median(() => verifyWebhook(body, headers, secret, { now }).ok);
const hubRate = median(() => verifyHubSignature(body, hub, 'meta-app-secret').ok);
console.log(
  `webhooks: verifyWebhook of a ${body.length}-byte body, one thread: ${standard} verifications/s (median of 5 x 1 s; goal >= 200,000)`,
);
console.log(`webhooks: verifyHubSignature of the same body: ${hubRate} verifications/s`);
