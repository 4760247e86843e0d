// Delivery reports as the bounce mailbox receives them (test/fixtures/reports): Postfix, Exim and
// Gmail DSNs, Yahoo- and Hotmail-style abuse reports, an auto-reply. Each is a template around the
// message the kit really sent (as the SMTP capture received it): `{{original}}` is that message
// whole, `{{originalHeaders}}` its header section, `{{redactedHeaders}}` the same with its To
// replaced (as a feedback loop hides the complainant). Lines end CRLF, as mail does.
import { readFileSync } from 'node:fs';

export const FIXTURES = ['postfix-hard', 'postfix-delayed', 'exim-hard', 'gmail-hard', 'gmail-no-original', 'recipient-only', 'arf-abuse', 'arf-redacted', 'auto-reply'] as const;
export type FixtureName = (typeof FIXTURES)[number];

export interface Sent {
  /** The notification's id. */
  id: string;
  /** Its recipient. */
  recipient: string;
  /** The message as the SMTP server received it. */
  raw: string;
}

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
const headerSection = (raw: string) => raw.slice(0, raw.search(/\r?\n\r?\n/));

/** The fixture, filled in for `sent` (the kit's domain is `harakaflow.test` unless told). */
export function report(name: FixtureName, sent: Sent, o: { domain?: string; replace?: [string | RegExp, string][] } = {}): Buffer {
  const domain = o.domain ?? 'harakaflow.test';
  const headers = headerSection(sent.raw);
  let text = crlf(readFileSync(new URL(`fixtures/reports/${name}.eml`, import.meta.url), 'utf8'))
    .replaceAll('{{domain}}', () => domain)
    .replaceAll('{{recipient}}', () => sent.recipient)
    .replaceAll('{{messageId}}', () => `${sent.id}@${domain}`)
    .replaceAll('{{originalHeaders}}', () => crlf(headers))
    .replaceAll('{{redactedHeaders}}', () => crlf(headers.replace(/^To: .*$/im, 'To: redacted@hotmail.example')))
    .replaceAll('{{original}}', () => crlf(sent.raw));
  for (const [from, to] of o.replace ?? []) text = text.replace(from, to);
  return Buffer.from(text);
}
