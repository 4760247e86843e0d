/** The shapes of kinds and their templates, and the values the templates (kinds.ts) and render (templates.ts) share. */
import type { MessageKey } from './languages.js';

/** Security and legal notices cannot be turned off; optional ones honour the account's preference. */
export type Category = 'security' | 'legal' | 'optional';

/**
 * A paragraph (a catalogue text), a link (a text as its label, a target), or a bare value that no language changes (a
 * code).
 */
export type Block = MessageKey | { label: MessageKey; href: string } | { value: string };

/** What a message says, by catalogue key: the same in every language. */
export interface Template {
  subject: MessageKey;
  blocks: Block[];
}

/**
 * What a message of this kind does while the account's address is not verified (issue 30 item 6):
 * `send` (the verification message, security notices, §11 policy notices: a legal duty), or wait up
 * to `waitDays` for the address to be verified (sent at once when it is), then dropped (`suppressed`).
 */
export type Unverified = 'send' | { waitDays: number };

export interface KindSpec {
  category: Category;
  /** Default: `send` for security and legal kinds, a day's wait for optional ones. */
  unverified?: Unverified | undefined;
  /** The template for this notification's data (a kind may have variants, e.g. per request status). */
  template(data: Record<string, unknown>): Template;
  /**
   * Values made from the data in the message's language (`text` fills a catalogue text with values):
   * a list written from its items, never a sentence from pieces.
   */
  values?:
    | ((
        data: Record<string, unknown>,
        text: (key: MessageKey, values: Record<string, unknown>) => string,
      ) => Record<string, unknown>)
    | undefined;
}

/** The texts of what a rights request asks for (`{{kindLabel}}`). */
export const KIND_LABELS: Record<string, MessageKey> = {
  access: 'request.kind.access',
  portability: 'request.kind.portability',
  correction: 'request.kind.correction',
  deletion: 'request.kind.deletion',
  restriction: 'request.kind.restriction',
  objection: 'request.kind.objection',
  withdraw_consent: 'request.kind.withdraw_consent',
  // A request emailed to the privacy mailbox whose kind the text does not make clear (issue 32).
  unclassified: 'request.kind.unclassified',
};

/** The policy's contact address (§6, §8, §12): the `privacyContact` option replaces it (the app's PRIVACY_CONTACT). */
export const DEFAULT_PRIVACY_CONTACT = 'privacy@harakaflow.io';

/**
 * What rows queued before messages had languages carry, and still carry for replicas of that
 * version (which greet `Hello {{name}},`), when the recipient has no name or business name: read
 * as none, so every language greets nobody in its own words.
 */
export const NO_NAME = 'there';
export const NO_BUSINESS_NAME = 'your account';
