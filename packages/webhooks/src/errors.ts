/**
 * Every error of @harakaflow/webhooks, made with @fastify/error (status included) on one base,
 * `WebhookError`, so `instanceof WebhookError` holds for all. Codes are public API (README, "Errors").
 * Messages never say which check failed beyond the code, and never quote a signature, a secret or
 * the body.
 */
import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

/** The verification failures (what verifyWebhook returns and assertWebhook throws). */
export type WebhookErrorCode =
  | 'HF_WEBHOOK_MISSING_HEADER'
  | 'HF_WEBHOOK_BAD_SIGNATURE'
  | 'HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE'
  | 'HF_WEBHOOK_BAD_SECRET'
  | 'HF_WEBHOOK_DUPLICATE_HEADER';

/** Every code an error of @harakaflow/webhooks carries: the verification failures and the rest (README, "Errors"). */
export type WebhooksErrorCode =
  | WebhookErrorCode
  | 'HF_WEBHOOK_IN_PROGRESS'
  | 'HF_WEBHOOK_DESTINATION_REFUSED'
  | 'HF_WEBHOOK_INVALID_ENDPOINT'
  | 'HF_WEBHOOK_INVALID_QUERY'
  | 'HF_WEBHOOK_DELIVERY_NOT_RESENDABLE'
  | 'HF_WEBHOOK_INVALID_OPTION';

/** Every code a verification failure can carry (the README's errors table lists each). */
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
 * The base of every error here. `new WebhookError(code, detail?)` still makes a verification
 * failure (the constructor of earlier versions); the errors below are its @fastify/error kin. It
 * stays a class because it is their common base: @fastify/error takes a class as `Base`, and
 * `instanceof WebhookError` holding for every error of the package is public API. The package
 * itself throws only the constants.
 */
export class WebhookError extends Error {
  declare readonly code: string;
  /** 401 for a refused delivery; 500 for a bad secret (the receiver's configuration); 400 for bad input. */
  declare readonly statusCode: number;
  constructor(code: WebhookErrorCode, detail?: string) {
    super(detail ? `${MESSAGES[code]}: ${detail}` : MESSAGES[code]);
    Object.defineProperties(this, {
      code: { value: code, enumerable: true },
      statusCode: { value: code === 'HF_WEBHOOK_BAD_SECRET' ? 500 : 401, enumerable: true },
    });
    this.name = 'WebhookError';
  }
}
// @fastify/error types its Base as ErrorConstructor (callable too); a class is what it needs at run time.
const Base = WebhookError as unknown as ErrorConstructor;
const verification = (code: WebhookErrorCode) =>
  createError(code, `${MESSAGES[code]}%s`, code === 'HF_WEBHOOK_BAD_SECRET' ? 500 : 401, Base);

export const MissingHeader = verification('HF_WEBHOOK_MISSING_HEADER');
export const BadSignature = verification('HF_WEBHOOK_BAD_SIGNATURE');
export const TimestampOutOfRange = verification('HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
export const BadSecret = verification('HF_WEBHOOK_BAD_SECRET');
export const DuplicateHeader = verification('HF_WEBHOOK_DUPLICATE_HEADER');
const BY_CODE = {
  HF_WEBHOOK_MISSING_HEADER: MissingHeader,
  HF_WEBHOOK_BAD_SIGNATURE: BadSignature,
  HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE: TimestampOutOfRange,
  HF_WEBHOOK_BAD_SECRET: BadSecret,
  HF_WEBHOOK_DUPLICATE_HEADER: DuplicateHeader,
};

/** The verification failure of `code`, with an optional detail that names no secret. */
export function webhookError(
  code: WebhookErrorCode,
  detail?: string,
): Error & { code: WebhookErrorCode; statusCode: number } {
  return new BY_CODE[code](detail ? `: ${detail}` : '') as Error & { code: WebhookErrorCode; statusCode: number };
}

/** An outbound destination refused by the SSRF checks (400). */
export const DestinationError = createError(
  'HF_WEBHOOK_DESTINATION_REFUSED',
  'Webhook destination refused: %s',
  400,
  Base,
);
/** An endpoint's input is not acceptable (400). */
export const EndpointInputError = createError('HF_WEBHOOK_INVALID_ENDPOINT', '%s', 400, Base);

/**
 * The delivery log: a status, event, time or cursor it does not know, `from` after `to`, a `since` in the future (400).
 */
export const InvalidQuery = createError('HF_WEBHOOK_INVALID_QUERY', 'Invalid delivery query: %s', 400, Base);
/**
 * Only a delivered or failed delivery can be sent again: a pending or held one is on its way, a cancelled one has no
 * endpoint (409).
 */
export const DeliveryNotResendable = createError(
  'HF_WEBHOOK_DELIVERY_NOT_RESENDABLE',
  'This delivery cannot be sent again: %s',
  409,
  Base,
);

/** An inbound delivery with this id is being processed by another request (409): retry later. */
export const InProgress = createError('HF_WEBHOOK_IN_PROGRESS', 'This delivery is being processed; retry later', 409);

export const invalidOption = optionErrors('@harakaflow/webhooks', 'HF_WEBHOOK_INVALID_OPTION');
