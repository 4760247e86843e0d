// A webhook receiver for tests (the webhooks package, the app): an HTTP server on a loopback port
// that records every request and answers what the test says.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers one request. */
export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string> | undefined;
  body?: string | Buffer | undefined;
}

export type Answer = number | ReceiverAnswer | ((request: ReceivedRequest) => ReceiverAnswer);

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook`. */
  url: string;
  received: ReceivedRequest[];
  /** Changes what the next requests are answered. */
  answer(next: Answer): void;
  close(): void;
}

/** Starts a receiver answering `answer` (a status, an answer, or a function of the request). */
export async function startReceiver(answer: Answer = 204): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  let current = answer;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const a =
        typeof current === 'number' ? { status: current } : typeof current === 'function' ? current(request) : current;
      res.writeHead(a.status, a.headers).end(a.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    received,
    answer: (next) => void (current = next),
    close: () => void server.close(),
  };
}
