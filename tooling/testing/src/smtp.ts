// A real SMTP server for tests (notify, the app): smtp-server on a loopback port.

export interface Received {
  to: string[];
  raw: string;
  headers: Record<string, string>;
  /** The text and HTML parts, quoted-printable and base64 decoded. */
  text: string;
  html: string;
}

/** Undoes quoted-printable (soft breaks, =XX) as RFC 2045 §6.7 writes it. */
function unQuote(s: string): string {
  return Buffer.from(
    s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

function partOf(raw: string, type: string): string {
  const at = raw.search(new RegExp(`Content-Type: ${type}`, 'i'));
  if (at < 0) return '';
  const rest = raw.slice(at);
  const headerEnd = rest.search(/\r?\n\r?\n/);
  const head = rest.slice(0, headerEnd);
  const body = rest.slice(headerEnd).replace(/^\r?\n\r?\n/, '');
  const end = body.search(/\r?\n--/);
  const content = end < 0 ? body : body.slice(0, end);
  if (/Content-Transfer-Encoding: base64/i.test(head))
    return Buffer.from(content.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (/Content-Transfer-Encoding: quoted-printable/i.test(head)) return unQuote(content);
  return content;
}

/** Unfolded top-level headers, lower-case names. */
function headersOf(raw: string): Record<string, string> {
  const head = raw.slice(0, raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
  const out: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * A real SMTP server (smtp-server) on a loopback port. `answers` decides each RCPT TO: a number
 * (an SMTP code: 250 accepts, 4xx/5xx refuses) taken from the front of the queue, else 250.
 */
export async function startSmtp(port = 0) {
  const received: Received[] = [];
  const answers: number[] = [];
  // Loaded here, not with the package: every file that imports `until` would pay for it.
  const { SMTPServer } = await import('smtp-server');
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Connections a pooled client keeps open are cut on close, not waited for.
    closeTimeout: 50,
    onRcptTo(_address, _session, callback) {
      const code = answers.shift() ?? 250;
      if (code < 400) return callback();
      callback(
        Object.assign(new Error(code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: code }),
      );
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          headers: headersOf(raw),
          text: partOf(raw, 'text/plain'),
          html: partOf(raw, 'text/html'),
        });
        callback(null, `OK: queued as Q${received.length}`);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.server.address() as { port: number };
  return {
    port: address.port,
    url: `smtp://127.0.0.1:${address.port}`,
    received,
    answers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Waits until `check` holds, polling every 20 ms. `ms` is a hang guard, not a measurement: the
 * default (60 s) is far beyond what any condition needs even with a second test run on the same
 * 2 cores (issue 31 item 6); a test states the condition it waits for, never a fixed sleep.
 */
export async function until(check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
