/**
 * What workspace code outside this package's root API still needs (the benchmark, this package's
 * tests): the cookie codec, the request reader, the ledger and policy helpers. Not a stable API.
 */
export { decodeDecision, encodeDecision, MAX_COOKIE_VALUE, prepareSecrets } from './codec.js';
export type { ConsentDecision, DecisionSource, Decoded, Secret } from './codec.js';
export { decisionFromRequest } from './cookie-reader.js';
export { evaluate } from './evaluate.js';
export { ConsentLedger } from './ledger.js';
export { checkPolicies, policyStatus } from './policy.js';
export { records as consentRecords } from './schema.js';
export { filterSetCookies, isClearing, setCookieName } from './set-cookie.js';
export { VerifiedCookies } from './verified-cookies.js';
