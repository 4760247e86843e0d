import { Writable } from 'node:stream';

export interface CapturedLogs {
  /** A pino destination stream to give to Fastify's `logger.stream`. */
  stream: Writable;
  /** Every line written so far, raw. */
  text(): string;
  /** Every line parsed as JSON. */
  lines(): Record<string, unknown>[];
}

/** Collects log lines so a test can assert that no secret or personal datum reached them. */
export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const text = () => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
