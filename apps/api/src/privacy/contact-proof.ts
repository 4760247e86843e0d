// The WhatsApp proof codes of contacts' requests, and the text messages of Meta's inbound payload that carry them.
import { createHmac } from 'node:crypto';

/** A WhatsApp code works this long. */
export const PROOF_TTL_MS = 30 * 60_000;
/** How the code looks in a message: HF-123456 (the dash, a space or nothing; any case). */
const CODE_IN_TEXT = /(?:^|[^A-Za-z0-9])HF[-\s]?(\d{6})(?![0-9])/i;
/** The six digits of the code a message carries, or null. */
export function codeIn(text: string): string | null {
  return CODE_IN_TEXT.exec(text.slice(0, 4096))?.[1] ?? null;
}

/** The key of the WhatsApp codes' HMACs, derived from DATA_RIGHTS_SUBJECT_KEY. */
export function proofCodeKey(secret: string | Buffer): Buffer {
  return createHmac('sha256', secret).update('harakaflow contact proof codes').digest();
}
/** The HMAC a code is kept as, bound to its number. */
export const digest = (key: Buffer, phone: string, code: string) =>
  createHmac('sha256', key).update(`${phone}:${code}`).digest('base64url');

/** A number as the page shows it: the country code and the last three digits. */
export function maskPhone(phone: string): string {
  return phone.length <= 7 ? phone : `${phone.slice(0, 4)}${'•'.repeat(phone.length - 7)}${phone.slice(-3)}`;
}

/** Meta's inbound payload: the text messages in it, each with its sender as E.164. Anything else is skipped. */
export function textMessages(body: unknown): { phone: string; text: string; to: string | null }[] {
  const out: { phone: string; text: string; to: string | null }[] = [];
  const entries = (body as { entry?: unknown } | null)?.entry;
  if (!Array.isArray(entries)) return out;
  for (const entry of entries.slice(0, 50)) {
    const changes = (entry as { changes?: unknown } | null)?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes.slice(0, 50)) {
      const value = (change as { value?: { messages?: unknown; metadata?: { display_phone_number?: unknown } } } | null)
        ?.value;
      const messages = value?.messages;
      if (!Array.isArray(messages)) continue;
      // The number it was sent to (digits; Meta may format it): which of the app's numbers received it.
      const shown = value?.metadata?.display_phone_number;
      const to = typeof shown === 'string' && /^[0-9 +()-]{1,32}$/.test(shown) ? `+${shown.replace(/\D/g, '')}` : null;
      for (const m of messages.slice(0, 100)) {
        const msg = m as { from?: unknown; type?: unknown; text?: { body?: unknown } } | null;
        if (msg?.type !== 'text' || typeof msg.from !== 'string' || typeof msg.text?.body !== 'string') continue;
        // Meta's wa_id: the number's digits, without the +.
        if (!/^[1-9][0-9]{1,14}$/.test(msg.from)) continue;
        out.push({ phone: `+${msg.from}`, text: msg.text.body, to });
      }
    }
  }
  return out;
}
