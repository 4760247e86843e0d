/**
 * The English catalogue of every message notify sends (issue 32 item 7). The keys are the
 * catalogue's contract: every other language has exactly these keys (`Catalogue` makes a missing
 * or extra key a compile error; test/languages.test.ts checks the same at run time, with the
 * placeholders of each key).
 *
 * How to write a text:
 * - One key is one whole paragraph, subject or link label, written for its meaning. A sentence is
 *   never put together from translated pieces: where the grammar changes with a value (a status,
 *   who did something, whether a name is known), each case has a key of its own.
 * - `{{name}}` is a value filled in at send time (one line, escaped in HTML). Names, numbers,
 *   dates, codes, paths and links only; text in a language is a key, never a value.
 * - `{{kindLabel}}` (the `request.kind.*` texts: what a rights request asks for) stands only
 *   where any noun phrase fits unchanged in every language: after a colon, or in parentheses.
 * - Product names (HarakaFlow), HTTP methods, paths and status codes stay as they are.
 *
 * Adding a kind: its keys here (`<kind>.subject`, `<kind>.<paragraph>`), the same keys in every
 * other catalogue (sw.ts: the compiler lists what is missing), its KindSpec in templates.ts.
 */
export const en = {
  'common.greeting': 'Hello {{name}},',
  // An address nobody has verified (issue 30 item 6), or nobody known yet: no name at all.
  'common.greetingAnonymous': 'Hello there,',
  'common.signature': 'HarakaFlow privacy team ({{privacyContact}})',
  'common.requestRef': 'Request {{requestId}}.',

  // What a rights request asks for (§6), as `{{kindLabel}}`: a noun phrase that stands alone.
  'request.kind.access': 'access to your data',
  'request.kind.portability': 'a portable copy of your data',
  'request.kind.correction': 'correction of your data',
  'request.kind.deletion': 'deletion of your data',
  'request.kind.restriction': 'restriction of the processing of your data',
  'request.kind.objection': 'objection to a use of your data',
  'request.kind.withdraw_consent': 'withdrawal of your consent',
  // Read from the privacy mailbox, its kind not clear from its text (issue 32): the admin classifies it.
  'request.kind.unclassified': 'a question or request about your data',

  'quota.warning.subject': 'HarakaFlow: {{percent}}% of your {{quota}} limit used',
  'quota.warning.used':
    '{{businessName}} has used {{used}} of its {{limit}} ({{quota}}). The limit resets at {{resetAt}}; past it, requests are refused with HTTP 429 until then.',
  'quota.warning.usedAnonymous':
    'Your account has used {{used}} of its {{limit}} ({{quota}}). The limit resets at {{resetAt}}; past it, requests are refused with HTTP 429 until then.',
  'quota.warning.why': 'You receive this because quota warnings are on for your account.',
  'quota.warning.stop': 'Stop quota warnings',

  'policy.upcoming.subject': 'HarakaFlow privacy policy: changes take effect on {{effectiveDate}}',
  'policy.upcoming.change':
    'We are changing our privacy policy. Version {{version}} takes effect on {{effectiveDate}}, at least 14 days after this notice (privacy policy §11).',
  'policy.upcoming.read': 'Read the new policy',
  'policy.upcoming.accept':
    'If you keep using HarakaFlow after that date, you accept the new version. If you do not, you can export your data or delete your account before then.',

  'subprocessors.upcoming.subject': 'HarakaFlow service providers: a change on {{effectiveDate}}',
  'subprocessors.upcoming.added':
    'We are changing who processes personal data for us. From {{effectiveDate}}, {{providerName}} ({{providerLocation}}) will process {{dataCategories}} for us: {{purpose}}.',
  'subprocessors.upcoming.removed':
    'We are changing who processes personal data for us. From {{effectiveDate}}, {{providerName}} will no longer process data for us.',
  // A notice queued by a replica of the previous version: the change as one English sentence it wrote.
  'subprocessors.upcoming.described': 'We are changing who processes personal data for us. {{change}}',
  'subprocessors.upcoming.effect':
    'This takes effect on {{effectiveDate}}, at least {{noticeDays}} days after this notice (privacy policy §5 and §11).',
  'subprocessors.upcoming.register': 'Read the register of our service providers',
  'subprocessors.upcoming.objection':
    'If you object to this change, tell us before that date: this link opens an objection request, which we answer within 30 days (§6).',
  'subprocessors.upcoming.object': 'Object to this change',

  'privacy.request.updated.received.subject': 'HarakaFlow: we received your request ({{kindLabel}})',
  'privacy.request.updated.received':
    'We received your request: {{kindLabel}}. We answer by {{dueDate}} (within 30 days, privacy policy §6).',
  'privacy.request.updated.confirmWithCode.subject': 'HarakaFlow: please confirm your request ({{kindLabel}})',
  'privacy.request.updated.confirmWithCode':
    'We received your request: {{kindLabel}}. We answer by {{dueDate}} (within 30 days, privacy policy §6). Before we act on it, please confirm that it comes from you: enter this code on the page below before {{codeExpiresAt}}.',
  'privacy.request.updated.confirmWithCode.link': 'Confirm your request',
  'privacy.request.updated.confirmWithCode.help':
    'The code works for 10 minutes; the page sends a new one if it has expired. If you did not write to us, ignore this message: nothing is done without the code.',
  'privacy.request.updated.mustConfirm.subject':
    'HarakaFlow: we received your request and must confirm it is yours ({{kindLabel}})',
  'privacy.request.updated.mustConfirm':
    'We received your request: {{kindLabel}}. Before we act on it we must confirm that it comes from you: we will write to you about how, and you can reply to this message. We answer by {{dueDate}} (within 30 days, privacy policy §6).',
  'privacy.request.updated.inProgress.subject': 'HarakaFlow: your request is in progress ({{kindLabel}})',
  'privacy.request.updated.inProgress':
    'We are working on your request: {{kindLabel}}. We answer by {{dueDate}} (within 30 days, privacy policy §6).',
  'privacy.request.updated.lifted.subject': 'HarakaFlow: the restriction of processing of your account is lifted',
  'privacy.request.updated.lifted.byUs':
    'The restriction of processing of your account is lifted: from now on your data is processed again as the privacy policy describes (§6). The reason: {{reason}}',
  'privacy.request.updated.lifted.byYou':
    'You lifted the restriction of processing of your account: from now on your data is processed again as the privacy policy describes (§6).',
  'privacy.request.updated.lifted.again': 'You can ask for a new restriction at any time.',
  'privacy.request.updated.extended.subject': 'HarakaFlow: we need more time for your request ({{kindLabel}})',
  'privacy.request.updated.extended':
    'We need more time for your request: {{kindLabel}}. The new due date is {{dueDate}}. The reason: {{reason}}',
  'privacy.request.updated.extended.noReason':
    'We need more time for your request: {{kindLabel}}. The new due date is {{dueDate}}.',
  'privacy.request.updated.exportReady.subject': 'HarakaFlow: your data export is ready',
  'privacy.request.updated.exportReady':
    'The export you asked for is ready. The link works once, until {{exportExpiresAt}}.',
  'privacy.request.updated.exportReady.link': 'Download your data',
  'privacy.request.updated.done.subject': 'HarakaFlow: your request is done ({{kindLabel}})',
  'privacy.request.updated.done': 'Your request is done: {{kindLabel}}.',
  'privacy.request.updated.done.receipt':
    'Your request is done: {{kindLabel}}. What each part of the service erased and kept: {{receipt}}',
  'privacy.request.updated.done.signedReceipt':
    'The signed erasure receipt, to check with our public keys ({{keysUrl}}): {{receiptJson}}',
  // One part of an erasure receipt's summary (`{{receipt}}` above: these, joined by "; ").
  'privacy.request.updated.receipt.part': '{{part}}: {{erased}} erased',
  'privacy.request.updated.receipt.partKept': '{{part}}: {{erased}} erased, {{kept}} kept ({{reason}})',
  'privacy.request.updated.receipt.partKeptByLaw': '{{part}}: {{erased}} erased, {{kept}} kept (kept by law)',
  'privacy.request.updated.denied.subject': 'HarakaFlow: your request was declined ({{kindLabel}})',
  'privacy.request.updated.denied': 'We could not carry out your request: {{kindLabel}}. The reason: {{reason}}',
  'privacy.request.updated.denied.noReason': 'We could not carry out your request: {{kindLabel}}.',
  'privacy.request.updated.denied.complain':
    'You may complain to the Office of the Data Protection Commissioner (Kenya).',
  'privacy.request.updated.canceled.subject': 'HarakaFlow: your request was cancelled ({{kindLabel}})',
  'privacy.request.updated.canceled': 'Your request was cancelled: {{kindLabel}}.',
  'privacy.request.updated.expired.subject': 'HarakaFlow: your request expired ({{kindLabel}})',
  'privacy.request.updated.expired': 'Your request expired: {{kindLabel}}. It was not verified within 30 days.',

  'account.email.verification.subject': 'HarakaFlow: confirm your email address',
  'account.email.verification.code':
    'This address was given for a HarakaFlow account. To confirm it is yours, send this code with the account’s API key (POST {{verifyPath}}, {"code": "…"}) before {{expiresAt}}:',
  'account.email.verification.until':
    'Until the address is confirmed we send it nothing but this code, security notices and notices of changes to our privacy policy. If you did not sign up, ignore this message.',

  'webhook.endpoint_disabled.subject': 'HarakaFlow: your webhook endpoint {{endpointOrigin}} was disabled',
  'webhook.endpoint_disabled.gone':
    'We stopped sending webhooks to your endpoint {{endpointOrigin}} (id {{endpointId}}) on {{disabledAt}}: it answered 410 Gone, which asks for no more deliveries.',
  'webhook.endpoint_disabled.failing':
    'We stopped sending webhooks to your endpoint {{endpointOrigin}} (id {{endpointId}}) on {{disabledAt}}: every delivery attempt failed since {{failingSince}}.',
  'webhook.endpoint_disabled.failingDays':
    'We stopped sending webhooks to your endpoint {{endpointOrigin}} (id {{endpointId}}) on {{disabledAt}}: every delivery attempt failed for several days.',
  // A notice queued by a replica of the previous version: its reason as the English words it wrote.
  'webhook.endpoint_disabled.described':
    'We stopped sending webhooks to your endpoint {{endpointOrigin}} (id {{endpointId}}) on {{disabledAt}}: {{reason}}.',
  'webhook.endpoint_disabled.held':
    'Nothing is lost: its {{held}} waiting deliveries are kept, and so are the events of the time it stays disabled, for 30 days each. Once the endpoint works again, enable it (POST {{enablePath}}) and they are sent.',
  'webhook.endpoint_disabled.log':
    'Every attempt is in the delivery log (GET {{deliveriesPath}}); deliveries that failed for good can be queued again (POST {{recoverPath}} with {"since": "…"}).',

  'privacy.request.code.subject': 'HarakaFlow: your code to confirm your privacy request',
  'privacy.request.code.code':
    'A request about this address was made to HarakaFlow: {{kindLabel}}. To confirm that it comes from you, enter this code on the request page before {{expiresAt}} (it works for 10 minutes and 5 tries):',
  'privacy.request.code.link': 'Enter the code',
  'privacy.request.code.ignore': 'If you did not ask, ignore this message: nothing is done without the code.',

  'account.deletion.scheduled.subject': 'HarakaFlow: your account will be deleted on {{purgeDate}}',
  'account.deletion.scheduled.when':
    'We received a request to delete the account of {{businessName}}. Its API keys are suspended now, and on {{purgeDate}} its data is erased (privacy policy §4), except what the law makes us keep, which the erasure receipt lists.',
  'account.deletion.scheduled.whenAnonymous':
    'We received a request to delete your account. Its API keys are suspended now, and on {{purgeDate}} its data is erased (privacy policy §4), except what the law makes us keep, which the erasure receipt lists.',
  'account.deletion.scheduled.cancel':
    'Changed your mind? Cancel before then with one of the account’s API keys: POST {{cancelPath}}.',

  // Issue 32 item 3: a contact's request passed to an account whose data holds the number.
  'privacy.request.forwarded.subject':
    'HarakaFlow: a privacy request from one of your contacts, to answer by {{dueDate}}',
  'privacy.request.forwarded.asked':
    'A person showed us that the WhatsApp number {{phone}} is theirs and made a request about it: {{kindLabel}}. Your account holds data about this number, and you decide about your contacts’ data (HarakaFlow processes it for you), so the request is yours to answer. Please answer by {{dueDate}}.',
  'privacy.request.forwarded.answer':
    'Answer with one of your API keys: POST {{answerPath}}/fulfil when it is done (with a note the person reads), POST {{answerPath}}/deny with your reason, or POST {{answerPath}}/erase to have HarakaFlow erase this contact from your account’s data now (the person receives the signed receipt). Every request waiting for you: GET {{listPath}}.',
  'privacy.request.forwarded.disclose':
    'The person learns your business name only if you choose to tell them ("disclose": true).',
  'privacy.request.forwarded.ref': 'Forwarded request {{forwardedId}}.',
  // To the person: how many businesses their request was passed to (none named).
  'privacy.contact.forwarded.subject': 'HarakaFlow: your request about {{phone}} ({{kindLabel}})',
  'privacy.contact.forwarded.none':
    'Thank you for proving that {{phone}} is your number. No business using HarakaFlow holds data about this number, so there is nobody to pass your request to.',
  'privacy.contact.forwarded.one':
    'Thank you for proving that {{phone}} is your number. We passed your request to the one business using HarakaFlow that holds data about this number. It decides about that data and has {{dueDays}} days to answer; we email you its answer.',
  'privacy.contact.forwarded.many':
    'Thank you for proving that {{phone}} is your number. We passed your request to the {{count}} businesses using HarakaFlow that hold data about this number. Each decides about its own data and has {{dueDays}} days to answer; we email you each answer as it comes.',
  // To the person: one business's answer; `named`: the business chose to give its name.
  'privacy.contact.outcome.subject': 'HarakaFlow: an answer to your request about {{phone}} ({{kindLabel}})',
  'privacy.contact.outcome.fulfilled':
    'One of the businesses we passed your request to says it has carried out your request.',
  'privacy.contact.outcome.fulfilled.note':
    'One of the businesses we passed your request to says it has carried out your request. Its note, in its own words (not HarakaFlow’s): {{note}}',
  'privacy.contact.outcome.fulfilled.named': 'The business {{business}} says it has carried out your request.',
  'privacy.contact.outcome.fulfilled.named.note':
    'The business {{business}} says it has carried out your request. Its note, in its own words (not HarakaFlow’s): {{note}}',
  'privacy.contact.outcome.denied':
    'One of the businesses we passed your request to declined it. Its reason, in its own words (not HarakaFlow’s): {{note}}',
  'privacy.contact.outcome.denied.named':
    'The business {{business}} declined your request. Its reason, in its own words (not HarakaFlow’s): {{note}}',
  'privacy.contact.outcome.complain': 'You may complain to the Office of the Data Protection Commissioner (Kenya).',
  'privacy.contact.outcome.erased':
    'One of the businesses we passed your request to had us erase {{phone}} from its data. What each part of the service erased and kept: {{receipt}}',
  'privacy.contact.outcome.erased.named':
    'The business {{business}} had us erase {{phone}} from its data. What each part of the service erased and kept: {{receipt}}',

  // The one-click unsubscribe pages (a link in a message opened in a browser): not messages, the same catalogue.
  'unsubscribe.page.languages': 'Language',
  'unsubscribe.page.title': 'Unsubscribe',
  'unsubscribe.page.question':
    'Stop these optional HarakaFlow notifications? Security and legal notices are always sent.',
  'unsubscribe.page.button': 'Unsubscribe',
  'unsubscribe.done.title': 'You are unsubscribed',
  'unsubscribe.done.body':
    'You will no longer get these optional HarakaFlow notifications. Security and legal notices are still sent.',
  'unsubscribe.invalid.title': 'This link no longer works',
  'unsubscribe.invalid.body':
    'This unsubscribe link is not valid, or it has expired (a link works for {{days}} days). Use the link in a more recent message.',
} as const;
