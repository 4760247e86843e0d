/** The verification failures of this package. Codes are public API (README, "Errors"). */
export type WebhookErrorCode =
  | 'HF_WEBHOOK_MISSING_HEADER'
  | 'HF_WEBHOOK_BAD_SIGNATURE'
  | 'HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE'
  | 'HF_WEBHOOK_BAD_SECRET'
  | 'HF_WEBHOOK_DUPLICATE_HEADER';

/** Every code a WebhookError can carry (the README's errors table lists each). */
export const WEBHOOK_ERROR_CODES: readonly WebhookErrorCode[] = [
  'HF_WEBHOOK_MISSING_HEADER',
  'HF_WEBHOOK_BAD_SIGNATURE',
  'HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
  'HF_WEBHOOK_BAD_SECRET',
  'HF_WEBHOOK_DUPLICATE_HEADER',
];

const MESSAGES: Record<WebhookErrorCode, string> = {
  HF_WEBHOOK_MISSING_HEADER: 'A webhook signature header is missing or malformed',
  HF_WEBHOOK_BAD_SIGNATURE: 'No webhook signature matches',
  HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE: 'The webhook timestamp is outside the accepted window',
  HF_WEBHOOK_BAD_SECRET: 'A webhook secret is not valid',
  HF_WEBHOOK_DUPLICATE_HEADER: 'A webhook signature, id or timestamp header was sent more than once',
};

/**
 * A refused webhook. The message never says which check failed beyond the code, and never quotes
 * the signature, the secret or the body.
 */
export class WebhookError extends Error {
  readonly code: WebhookErrorCode;
  /** 401 for a refused delivery; 500 for a bad secret (the receiver's configuration). */
  readonly statusCode: number;
  constructor(code: WebhookErrorCode, detail?: string) {
    super(detail ? `${MESSAGES[code]}: ${detail}` : MESSAGES[code]);
    this.name = 'WebhookError';
    this.code = code;
    this.statusCode = code === 'HF_WEBHOOK_BAD_SECRET' ? 500 : 401;
  }
}
