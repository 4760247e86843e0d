/**
 * Delivery reports as a bounce mailbox receives them (issue 34 item 4; fixtures/reports): Postfix,
 * Exim and Gmail DSNs (RFC 3464), Yahoo- and Hotmail-style abuse reports (ARF, RFC 5965), an
 * auto-reply. Each is a template around a message the kit really sent (as the SMTP capture received
 * it): `{{original}}` is that message whole, `{{originalHeaders}}` its header section,
 * `{{redactedHeaders}}` the same with its To replaced (as a feedback loop hides the complainant).
 * Lines end CRLF, as mail does: ready to hand to notify's processBounceMessage or to APPEND to an
 * IMAP mailbox.
 */
import { readFileSync } from 'node:fs';

export const DELIVERY_REPORTS = [
  'postfix-hard',
  'postfix-delayed',
  'exim-hard',
  'gmail-hard',
  'gmail-no-original',
  'recipient-only',
  'arf-abuse',
  'arf-redacted',
  'auto-reply',
] as const;
export type DeliveryReportName = (typeof DELIVERY_REPORTS)[number];

export interface SentMessage {
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
export function deliveryReport(
  name: DeliveryReportName,
  sent: SentMessage,
  o: { domain?: string; replace?: [string | RegExp, string][] } = {},
): Buffer {
  const domain = o.domain ?? 'harakaflow.test';
  const headers = headerSection(sent.raw);
  let text = crlf(readFileSync(new URL(`../fixtures/reports/${name}.eml`, import.meta.url), 'utf8'))
    .replaceAll('{{domain}}', () => domain)
    .replaceAll('{{recipient}}', () => sent.recipient)
    .replaceAll('{{messageId}}', () => `${sent.id}@${domain}`)
    .replaceAll('{{originalHeaders}}', () => crlf(headers))
    .replaceAll('{{redactedHeaders}}', () => crlf(headers.replace(/^To: .*$/im, 'To: redacted@hotmail.example')))
    .replaceAll('{{original}}', () => crlf(sent.raw));
  for (const [from, to] of o.replace ?? []) text = text.replace(from, to);
  // The report's own Message-ID (its first header section's), one per message reported on, as a
  // relay's would be: a report is read once by it, so two tests on one database must not share it.
  const end = text.search(/\r\n\r\n/);
  text =
    text
      .slice(0, end)
      .replace(/^(Message-I[Dd]: <)([^@>]+)@/m, (_, head: string, local: string) => `${head}${local}.${sent.id}@`) +
    text.slice(end);
  return Buffer.from(text);
}
