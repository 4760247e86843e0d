/**
 * Delivery reports, read for a machine (issue 34 item 4): RFC 3464 delivery status notifications
 * (`multipart/report; report-type=delivery-status`, and RFC 6533's `message/global-delivery-status`)
 * and RFC 5965 feedback reports (ARF, `report-type=feedback-report`). postal-mime walks the MIME
 * tree; it keeps a report's parts as attachments (`message/delivery-status`,
 * `message/feedback-report`, the returned `message/rfc822` or `text/rfc822-headers`), whose fields
 * are read here. Never throws: what is not a report is null. Nothing of the diagnostic text leaves
 * this file: a status code (`5.1.1`), an SMTP reply code (`550`) and a feedback type (`abuse`) are
 * all that is kept, each checked against its grammar.
 */
import { createHash } from 'node:crypto';
import PostalMime from 'postal-mime';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

/** One per-recipient block of a DSN (RFC 3464 §2.3). */
export interface DsnRecipient {
  /** Final-Recipient's address, lower-cased; null when it is not an address. */
  finalRecipient: string | null;
  /** Original-Recipient's (the address as the sender gave it, when the report says). */
  originalRecipient: string | null;
  action: DsnAction | null;
  /** RFC 3463's `class.subject.detail` (`5.1.1`). */
  status: string | null;
  /** The reply code of an `smtp;` Diagnostic-Code (`550`). */
  smtpCode: number | null;
}

/** What the returned message (or its headers) says about the message reported on. */
export interface ReturnedMessage {
  /** Its Message-ID, without angle brackets. */
  messageId: string | null;
  /** `X-HarakaFlow-Notification-Id`: the outbox id the kit writes on every message. */
  notificationId: string | null;
  /** The addresses of its To header, lower-cased. */
  to: string[];
}

export type DeliveryReport =
  | { type: 'dsn'; messageId: string | null; recipients: DsnRecipient[]; original: ReturnedMessage | null }
  | {
      type: 'arf';
      messageId: string | null;
      feedbackType: string | null;
      recipients: string[];
      original: ReturnedMessage | null;
    };

/** Limits: a report is small; anything past these is not read. */
const MAX_PART_CHARS = 64 * 1024;
const MAX_GROUPS = 101;
const MAX_RECIPIENTS = 100;
const MAX_VALUE = 998;

const ACTIONS: readonly string[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];
const DSN_TYPES = ['message/delivery-status', 'message/global-delivery-status'];
const ORIGINAL_TYPES = ['message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// One address: RFC 5321's sizes, one @, no spaces, brackets, quotes or separators (an
// internationalised one, RFC 6533, passes: only ASCII delimiters are refused).
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const ADDRESS = /^[^\s@<>"(),;:[\]\\\x00-\x1f\x7f]{1,64}@[^\s@<>"(),;:[\]\\\x00-\x1f\x7f]{1,253}$/;

/** Header-style fields, case-insensitive, each name's values in order (a name may repeat). */
export type Fields = Map<string, string[]>;

/**
 * Groups of `Name: value` fields separated by blank lines, folded lines joined (RFC 5322 §2.2.3):
 * a DSN's per-message block then one block per recipient (RFC 3464 §2.1), a feedback report's one
 * block, a message's header section (the first group). Lines that are not fields are skipped.
 */
export function fieldGroups(text: string, maxGroups = MAX_GROUPS): Fields[] {
  const groups: Fields[] = [];
  let current: Fields = new Map();
  let last: string[] | null = null;
  for (const line of text.slice(0, MAX_PART_CHARS).split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size) groups.push(current);
      current = new Map();
      last = null;
      if (groups.length >= maxGroups) return groups;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) last[last.length - 1] = `${last.at(-1)!} ${line.trim()}`.slice(0, MAX_VALUE);
      continue;
    }
    const m = /^([!-9;-~]{1,76}):[ \t]*(.*)$/.exec(line);
    if (!m) {
      last = null;
      continue;
    }
    const name = m[1]!.toLowerCase();
    last = current.get(name) ?? [];
    last.push(m[2]!.trim().slice(0, MAX_VALUE));
    current.set(name, last);
  }
  if (current.size && groups.length < maxGroups) groups.push(current);
  return groups;
}

const first = (fields: Fields | undefined, name: string): string | undefined => fields?.get(name)?.[0];

/** `rfc822; User@Example.org` (or `<...>`, or no type) → `user@example.org`; null when it is not one address. */
export function addressOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const bare = value
    .replace(/^[A-Za-z0-9-]{1,32}\s*;/, '')
    .replace(/\([^()]*\)/g, '')
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .trim()
    .toLowerCase();
  return ADDRESS.test(bare) ? bare : null;
}

/** `5.1.1 (User unknown)` → `5.1.1`; anything else → null. */
export function statusOf(value: string | undefined): string | null {
  const m = value === undefined ? null : /^\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])/.exec(value);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/** `smtp; 550-5.1.1 The email account ...` → 550; another diagnostic type or no code → null. */
export function smtpCodeOf(value: string | undefined): number | null {
  const m = value === undefined ? null : /^\s*smtp\s*;\s*([245][0-9][0-9])(?![0-9])/i.exec(value);
  return m ? Number(m[1]) : null;
}

/** The id inside the first `<...>` of a Message-ID header (or the bare value), at most 250 characters. */
export function messageIdOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  // No control character (a NUL, which Postgres refuses in text, stopped the mailbox's reader).
  /* eslint-disable no-control-regex -- control characters are what it refuses */
  const inside =
    /<([^<>\s\x00-\x1f\x7f]{1,250})>/.exec(value)?.[1] ??
    /^\s*([^<>\s\x00-\x1f\x7f]{1,250})\s*$/.exec(value)?.[1] ??
    null;
  /* eslint-enable no-control-regex */
  return inside;
}

/**
 * A DSN's per-recipient blocks (RFC 3464 §2.3): every block that names a recipient (the per-message one names none).
 */
export function parseDeliveryStatus(text: string): DsnRecipient[] {
  const recipients: DsnRecipient[] = [];
  for (const block of fieldGroups(text)) {
    if (!block.has('final-recipient') && !block.has('original-recipient')) continue;
    const action = first(block, 'action')
      ?.split(/[\s(;]/)[0]
      ?.toLowerCase();
    recipients.push({
      finalRecipient: addressOf(first(block, 'final-recipient')),
      originalRecipient: addressOf(first(block, 'original-recipient')),
      action: action !== undefined && ACTIONS.includes(action) ? (action as DsnAction) : null,
      status: statusOf(first(block, 'status')),
      smtpCode: smtpCodeOf(first(block, 'diagnostic-code')),
    });
    if (recipients.length >= MAX_RECIPIENTS) break;
  }
  return recipients;
}

/** A feedback report's fields (RFC 5965 §3.5): its type and the recipients it names. */
export function parseFeedbackReport(text: string): { feedbackType: string | null; recipients: string[] } {
  const fields = fieldGroups(text, 1)[0];
  const type = first(fields, 'feedback-type')
    ?.split(/[\s(;]/)[0]
    ?.toLowerCase();
  const recipients = (fields?.get('original-rcpt-to') ?? []).map(addressOf).filter((a): a is string => a !== null);
  return {
    feedbackType: type !== undefined && /^[a-z][a-z0-9-]{0,31}$/.test(type) ? type : null,
    recipients: [...new Set(recipients)].slice(0, MAX_RECIPIENTS),
  };
}

/** The returned message's header section: its Message-ID, the kit's id header and its To addresses. */
export function parseReturnedHeaders(text: string): ReturnedMessage {
  const headers = fieldGroups(text, 1)[0];
  const id = first(headers, 'x-harakaflow-notification-id')?.trim().toLowerCase();
  /* eslint-disable no-control-regex -- control characters are what it refuses */
  const to =
    (headers?.get('to') ?? []).join(',').match(/[^\s<>",;:()[\]\\\x00-\x1f\x7f]+@[^\s<>",;:()[\]\\\x00-\x1f\x7f]+/g) ??
    [];
  /* eslint-enable no-control-regex */
  return {
    messageId: messageIdOf(first(headers, 'message-id')),
    notificationId: id !== undefined && UUID.test(id) ? id : null,
    to: [...new Set(to.map((a) => a.toLowerCase()).filter((a) => ADDRESS.test(a)))].slice(0, MAX_RECIPIENTS),
  };
}

const decoder = new TextDecoder('utf-8');
const textOf = (content: ArrayBuffer | Uint8Array | string): string =>
  typeof content === 'string'
    ? content.slice(0, MAX_PART_CHARS)
    : decoder.decode((content instanceof Uint8Array ? content : new Uint8Array(content)).subarray(0, MAX_PART_CHARS));

/**
 * Reads a raw message as a delivery report: a DSN (its recipients' actions and codes) or a
 * feedback report (its type and recipients), with what the returned message says; null when it
 * is neither (an auto-reply, a human's answer, spam, or mail postal-mime cannot read).
 */
export async function parseReport(raw: Buffer | Uint8Array): Promise<DeliveryReport | null> {
  try {
    const mail = await PostalMime.parse(raw, {
      attachmentEncoding: 'arraybuffer',
      maxNestingDepth: 20,
      maxPartCount: 500,
      maxRfc822NestingDepth: 0,
    });
    const parts = mail.attachments ?? [];
    const returned = parts.find((p) => ORIGINAL_TYPES.includes(p.mimeType));
    const original = returned ? parseReturnedHeaders(textOf(returned.content)) : null;
    const messageId = messageIdOf(mail.messageId);
    const dsn = parts.find((p) => DSN_TYPES.includes(p.mimeType));
    if (dsn) {
      const text = textOf(dsn.content);
      // No message returned: Gmail's per-message block still names it (X-Original-Message-ID).
      const named = original ? null : messageIdOf(first(fieldGroups(text, 1)[0], 'x-original-message-id'));
      return {
        type: 'dsn',
        messageId,
        recipients: parseDeliveryStatus(text),
        original: original ?? (named ? { messageId: named, notificationId: null, to: [] } : null),
      };
    }
    const feedback = parts.find((p) => p.mimeType === 'message/feedback-report');
    if (feedback) {
      const report = parseFeedbackReport(textOf(feedback.content));
      return { type: 'arf', messageId, feedbackType: report.feedbackType, recipients: report.recipients, original };
    }
    return null;
  } catch {
    return null;
  }
}

/** The key a report is known by: its Message-ID, else a digest of its bytes. */
export function reportKey(report: { messageId: string | null }, raw: Buffer | Uint8Array): string {
  return report.messageId ? `mid:${report.messageId}` : `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** The outbox id in a Message-ID the kit wrote (`<id@domain>`, this domain), or null. */
export function notificationIdOf(messageId: string | null, domain: string): string | null {
  if (!messageId) return null;
  const at = messageId.lastIndexOf('@');
  const id = messageId.slice(0, at).toLowerCase();
  return at > 0 && messageId.slice(at + 1).toLowerCase() === domain.toLowerCase() && UUID.test(id) ? id : null;
}
