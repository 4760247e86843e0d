/**
 * One HTTP POST of a signed delivery: through the SSRF-checking lookup, no redirect followed (a 3xx
 * is a failed attempt), the response body read up to 64 KiB; its first 4 KiB are handed back
 * (`response`) for the delivery log's excerpt, the rest discarded.
 *
 * `timeoutMs` (15 s) is the attempt's whole deadline: lookup, connect, request and the answer's
 * body, from the call. A socket idle timeout alone let a receiver trickling a byte every few seconds
 * hold one attempt for hours, past the dispatcher's claim lease (security review M4): at the
 * deadline the socket is destroyed and the attempt is ETIMEDOUT, whatever was read by then.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkUrl, safeLookup, type DestinationPolicy } from './destination.js';
import { RESPONSE_READ_BYTES } from './excerpt.js';

export interface SendResult {
  statusCode: number | null;
  /** An error code when there was no HTTP answer (ETIMEDOUT, ECONNREFUSED, HF_WEBHOOK_DESTINATION_REFUSED...). */
  error: string | null;
  durationMs: number;
  /** The start of the response body (at most 4 KiB), when there was one. */
  response?: Buffer | undefined;
}

export const USER_AGENT = 'HarakaFlow-Webhooks/0.1';

/** `contentType`: the body's media type (`application/json`; an audit stream sends `application/x-ndjson`). */
export function send(
  url: string,
  headers: Record<string, string>,
  body: string,
  policy: DestinationPolicy,
  timeoutMs = 15_000,
  contentType = 'application/json',
): Promise<SendResult> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null, response?: Buffer): SendResult => ({
    statusCode,
    error,
    durationMs: Math.round(performance.now() - started),
    ...(response?.length ? { response } : {}),
  });
  let target: URL;
  try {
    target = checkUrl(url, policy);
  } catch (error) {
    return Promise.resolve(done(null, (error as { code: string }).code));
  }
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const kept: Buffer[] = [];
    // Called from events only, after `deadline` below is set.
    const finish = (result: SendResult) => {
      if (!settled) {
        settled = true;
        clearTimeout(deadline);
        resolve(result);
      }
    };
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': contentType,
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': USER_AGENT,
        },
        lookup: safeLookup(policy) as never,
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          if (read < RESPONSE_READ_BYTES) kept.push(chunk.subarray(0, RESPONSE_READ_BYTES - read));
          read += chunk.length;
          if (read > 65_536) res.destroy();
        });
        const answered = () => finish(done(res.statusCode ?? null, null, Buffer.concat(kept)));
        res.on('end', answered);
        res.on('close', answered);
        res.on('error', answered);
      },
    );
    // The attempt ends at its deadline whatever the socket is doing (what was read by then kept for the log).
    const deadline = setTimeout(() => {
      finish(done(null, 'ETIMEDOUT', Buffer.concat(kept)));
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException & { code?: string }) =>
      finish(done(null, typeof error.code === 'string' ? error.code : 'EREQUEST')),
    );
    req.end(body);
  });
}
