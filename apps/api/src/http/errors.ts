import createError from '@fastify/error';

/** Errors of the reference app. Codes are public API (README, "Errors"). */
export const AuthRequired = createError('HF_AUTH_REQUIRED', 'Authentication required', 401);
export const AuthInvalid = createError('HF_AUTH_INVALID', 'The API key is missing, malformed, unknown or revoked', 401);
export const AuthForbidden = createError('HF_AUTH_FORBIDDEN', 'This principal may not use this route', 403);
/** The privacy centre's no-JavaScript consent form without a valid choice. */
export const InvalidConsentForm = createError(
  'HF_PRIVACY_INVALID_FORM',
  'The form needs analytics=granted or analytics=denied',
  400,
);
/**
 * A state-changing request made with the privacy centre's session cookie, without its CSRF token or from another
 * origin.
 */
export const SessionCsrf = createError(
  'HF_AUTH_CSRF',
  'A request made with the session cookie needs its x-csrf-token and this site as its Origin',
  403,
);
export const AccountExists = createError('HF_ACCOUNT_EXISTS', 'An account with this email address already exists', 409);
export const AccountNotFound = createError('HF_ACCOUNT_NOT_FOUND', 'No such account', 404);
/**
 * Email verification (issue 30 item 6): a code that is wrong, expired, tried 5 times, or sent to an address the account
 * no longer has.
 */
export const EmailCodeInvalid = createError(
  'HF_EMAIL_CODE_INVALID',
  'The code is wrong, has expired or was tried 5 times: ask for a new one (POST /v1/account/email/verification)',
  400,
);
export const EmailAlreadyVerified = createError(
  'HF_EMAIL_ALREADY_VERIFIED',
  "The account's email address is already verified",
  409,
);
/** A new verification message less than a minute after the last one (Retry-After says when). */
export const EmailVerificationTooSoon = createError(
  'HF_EMAIL_VERIFICATION_TOO_SOON',
  'A verification message was sent less than a minute ago',
  429,
);
/**
 * The audit log's public keys asked of a server without AUDIT_SIGNING_KEYS (issue 33: optional in production for a
 * release).
 */
export const AuditSigningDisabled = createError(
  'HF_AUDIT_SIGNING_DISABLED',
  'This server does not sign audit checkpoints (AUDIT_SIGNING_KEYS is not set)',
  404,
);
export const CredentialNotFound = createError('HF_VAULT_NOT_FOUND', 'No such credential', 404);
export const NotFound = createError('HF_NOT_FOUND', 'Route %s not found', 404);
/**
 * Issue 33: an audit event that does not exist, or is not about the account asking (never 403: that would tell it
 * exists).
 */
export const AuditEventNotFound = createError('HF_AUDIT_EVENT_NOT_FOUND', 'No such audit event in your trail', 404);
/** The event is newer than the latest signed tree head; Retry-After says when to ask again. */
export const AuditProofPending = createError(
  'HF_AUDIT_PROOF_PENDING',
  'The event is not in a signed tree head yet: ask again in a few seconds',
  409,
);
export const EndpointNotFound = createError('HF_WEBHOOK_ENDPOINT_NOT_FOUND', 'No such webhook endpoint', 404);
export const DeliveryNotFound = createError('HF_WEBHOOK_DELIVERY_NOT_FOUND', 'No such webhook delivery', 404);
export const WebhookNotConfigured = createError(
  'HF_WEBHOOK_NOT_CONFIGURED',
  'This inbound webhook is not configured on this server',
  503,
);
export const WebhookVerifyRefused = createError(
  'HF_WEBHOOK_VERIFY_REFUSED',
  'The verification request does not match',
  403,
);
/** U+0000 in a value stored as text or jsonb (Postgres cannot store it): a client error, never a 500. */
export const NulRejected = createError('HF_VALIDATION_FAILED', '%s must not contain the character U+0000', 400);
export const ReservedNamespace = createError(
  'HF_VAULT_RESERVED_NAMESPACE',
  'This session id is reserved; credentials live in sessions of your own',
  400,
);
/** A rights request whose fields do not go together (issue 32 item 6: `purpose` on a kind other than objection...). */
export const RequestFieldsInvalid = createError('HF_VALIDATION_FAILED', '%s', 400);
/** A JSON body nested deeper than MAX_JSON_DEPTH: refused before any recursive code sees it. */
export const JsonTooDeep = createError('HF_VALIDATION_FAILED', 'The JSON body nests deeper than %s levels', 400);

/** `Idempotency-Key` (POST /v1/messages): not 1 to 255 visible ASCII characters (optionally as a quoted sf-string). */
export const IdempotencyKeyInvalid = createError(
  'HF_IDEMPOTENCY_KEY_INVALID',
  'Idempotency-Key must be 1 to 255 visible ASCII characters',
  400,
);
/** The same key was used, within 24 hours, for a request with another body. */
export const IdempotencyKeyReused = createError(
  'HF_IDEMPOTENCY_KEY_REUSED',
  'This Idempotency-Key was used for another request body',
  422,
);
/** The first request with this key is still being answered. */
export const IdempotencyKeyInProgress = createError(
  'HF_IDEMPOTENCY_KEY_IN_PROGRESS',
  'A request with this Idempotency-Key is still in progress; retry later',
  409,
);

/** API keys (issue 30 item 11, routes/keys.ts). */
export const ApiKeyNotFound = createError('HF_API_KEY_NOT_FOUND', 'No such live API key on this account', 404);
export const ApiKeyLimit = createError(
  'HF_API_KEY_LIMIT',
  'An account holds at most %s live API keys: revoke one first',
  409,
);
export const ApiKeyLast = createError(
  'HF_API_KEY_LAST',
  "This is the account's last live API key: create another before revoking it",
  409,
);

/** A request's message that is not kept (issue 32: GET /v1/admin/privacy/requests/:id/messages/:messageId). */
export const MessageNotKept = createError('HF_DATA_RIGHTS_NOT_FOUND', 'No such message kept for this request', 404);

/** Contacts' requests routed to the businesses that hold them (issue 32 item 3). */
export const ContactRequestNotFound = createError(
  'HF_PRIVACY_CONTACT_NOT_FOUND',
  'No confirmed request about a phone number waits here',
  404,
);
export const ContactAlreadyProved = createError(
  'HF_PRIVACY_CONTACT_PROVED',
  "This request's number is proved already: it was passed on",
  409,
);
export const WhatsappNotConfigured = createError(
  'HF_PRIVACY_WHATSAPP_NOT_CONFIGURED',
  'This server has no WhatsApp privacy number (PRIVACY_WHATSAPP_NUMBER) to prove a number with',
  503,
);
export const ForwardedNotFound = createError(
  'HF_PRIVACY_FORWARDED_NOT_FOUND',
  'No such forwarded request on this account',
  404,
);
export const ForwardedAnswered = createError(
  'HF_PRIVACY_FORWARDED_ANSWERED',
  'This forwarded request was answered already',
  409,
);
export const ForwardedNotErasable = createError(
  'HF_PRIVACY_FORWARDED_NOT_ERASABLE',
  'Only a deletion, an objection or a withdrawal of consent can be answered by erasing the contact',
  409,
);
/** Codes asked for one number past its hourly limit (Retry-After says when). */
export const ContactCodeLimit = createError(
  'HF_PRIVACY_CONTACT_CODE_LIMIT',
  'Too many codes were asked for this number: try again later',
  429,
);

/** Audit streams to a customer's SIEM (issue 33 item 5, routes/audit-streams.ts). */
export const AuditStreamNotFound = createError('HF_AUDIT_STREAM_NOT_FOUND', 'No such audit stream', 404);
export const AuditStreamLimit = createError('HF_AUDIT_STREAM_LIMIT', 'At most %s audit streams: delete one first', 409);
/** The destination's own problem, never the URL: "must be https", "not a public address"... */
export const AuditStreamInvalidUrl = createError(
  'HF_AUDIT_STREAM_INVALID_URL',
  'The stream destination is refused: %s',
  400,
);
export const AuditStreamInvalidFrom = createError(
  'HF_AUDIT_STREAM_INVALID_FROM',
  '"from" must be a time in the past',
  400,
);
