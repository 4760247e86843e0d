/**
 * A received message read for a machine, never for display: its sender, subject, thread ids, the
 * signs that a machine sent it (RFC 3834's Auto-Submitted, delivery and read reports, bulk and list
 * mail) and its text part (text/plain; postal-mime turns an HTML-only body into text by string
 * processing, nothing is rendered, fetched or run). The raw message is the evidence: keep it as
 * bytes and never show it as HTML.
 */
import PostalMime, { type Address, type Header } from 'postal-mime';

export interface InboundSummary {
  /** The From address, lower-cased; null when there is none or it is not an address. */
  from: string | null;
  subject: string;
  /** Message-ID without its angle brackets; null when the message has none. */
  messageId: string | null;
  /** The ids of In-Reply-To and References, without angle brackets, nearest first. */
  thread: string[];
  /** Why nobody may answer it automatically (RFC 3834): null when a person seems to have written it. */
  automatic: string | null;
  /** The text, at most `maxText` characters. */
  text: string;
}

// RFC 5321's limits and one @; no spaces, angle brackets or quotes.
const ADDRESS =
  /^[^\s@<>"(),;:]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** Local parts that bounces and machines send from. */
const MACHINE_SENDERS = /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+-.].*)?$/i;

const ids = (value: string | undefined): string[] =>
  (value?.match(/<[^<>\s]{1,998}>/g) ?? []).map((id) => id.slice(1, -1).toLowerCase());
const header = (headers: Header[], name: string): string | undefined =>
  headers.find((h) => h.key === name)?.value.trim();

/** Is `value` one email address as a sender may be told (RFC 5321 sizes, a dotted domain)? */
export function isAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 254 && ADDRESS.test(value);
}

function fromAddress(from: Address | undefined): string | null {
  const address = from && 'address' in from ? from.address : undefined;
  return isAddress(address) ? address.toLowerCase() : null;
}

/** Why a message must get no automatic answer, or null. */
function automaticReason(headers: Header[], from: string | null): string | null {
  const auto = header(headers, 'auto-submitted');
  if (auto !== undefined && auto.split(';')[0]!.trim().toLowerCase() !== 'no')
    return `Auto-Submitted: ${auto.split(';')[0]!.trim().slice(0, 40)}`;
  const type = (header(headers, 'content-type') ?? '').toLowerCase();
  if (/^multipart\/report\b/.test(type) || /^message\/(delivery-status|disposition-notification)\b/.test(type))
    return 'a delivery or read report';
  const precedence = header(headers, 'precedence')?.toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') return `Precedence: ${precedence}`;
  if (header(headers, 'list-id') !== undefined) return 'mailing-list mail (List-Id)';
  if (header(headers, 'x-autoreply') !== undefined || header(headers, 'x-autorespond') !== undefined)
    return 'an auto-reply';
  if (header(headers, 'return-path') === '<>') return 'a bounce (empty Return-Path)';
  if (from === null) return 'no valid From address';
  if (MACHINE_SENDERS.test(from.split('@')[0]!)) return 'a machine sender';
  return null;
}

/**
 * Reads a raw RFC 822 message. Never throws for a malformed one: what cannot be read is empty
 * (a message postal-mime refuses outright is read as having no headers).
 */
export async function readInbound(
  raw: Buffer | Uint8Array,
  options: { maxText?: number } = {},
): Promise<InboundSummary> {
  const maxText = options.maxText ?? 20_000;
  let mail: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    mail = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer', maxNestingDepth: 20, maxPartCount: 500 });
  } catch {
    return { from: null, subject: '', messageId: null, thread: [], automatic: 'an unreadable message', text: '' };
  }
  const from = fromAddress(mail.from);
  const messageId = ids(mail.messageId)[0] ?? null;
  const thread = [...new Set([...ids(mail.inReplyTo), ...ids(mail.references).reverse()])].slice(0, 50);
  return {
    from,
    subject: (mail.subject ?? '').slice(0, 500),
    messageId,
    thread,
    automatic: automaticReason(mail.headers, from),
    text: (mail.text ?? '').slice(0, maxText),
  };
}
