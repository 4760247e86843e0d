import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks, written for the tests from the specification (apart from @harakaflow/webhooks):
 * HMAC-SHA256 over `id.timestamp.body` with the base64 key after `whsec_`, base64, "v1,"; any
 * signature of the space-separated list.
 */
export function standardWebhookVerifies(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((s) => {
    const [version, value] = s.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
