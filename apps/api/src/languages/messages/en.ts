/**
 * The English texts of the public pages (issue 32 item 7): the request form (`/privacy/request`),
 * the export link's page and the processor register's (`/privacy/subprocessors`); the emails'
 * texts are @harakaflow/notify's catalogues. Every other language has exactly these keys (the
 * `PageCatalogue` type makes a missing or extra one a compile error; test/languages.test.ts checks
 * the same at run time, with each text's placeholders and markup).
 *
 * One key is one whole sentence or paragraph, written for its meaning, never assembled from
 * translated pieces. `{{name}}` is a value (escaped); `<link>...</link>` is the one link a text may
 * hold, `<strong>...</strong>` emphasis: the words inside are the translator's, the target is not.
 */
export const en = {
  'nav.languages': 'Language',

  'form.title': 'Make a privacy request',
  'form.intro':
    'No account, or no API key at hand? Ask here. We send a six-digit code to your email address, and the request is made when you enter it. If it is the verified address of a HarakaFlow account, the request is about that account. We answer within 30 days (privacy policy §6).',
  'form.email': 'Your email address',
  'form.kind': 'What do you ask for?',
  'form.contact': 'A phone number it is about (optional, as +254...)',
  'form.details': 'Anything we should know (optional)',
  'form.submit': 'Send me a code',
  'form.centre': 'Have an API key? The <link>privacy centre</link> does all of this at once.',
  'form.kind.access': 'A copy of my data (access)',
  'form.kind.portability': 'My data in a portable format',
  'form.kind.correction': 'Correct my data',
  'form.kind.deletion': 'Delete my data',
  'form.kind.restriction': 'Restrict the processing of my data',
  'form.kind.objection': 'Object to a use of my data',
  'form.kind.withdraw_consent': 'Withdraw my consent',
  'form.error.email': 'Please give an email address: the code goes there.',
  'form.error.kind': 'Please choose what you ask for.',
  'form.error.contact':
    'Please write the phone number as + and the country code, then the number (at most 15 digits), or leave it empty.',
  // The details an objection link fills in (a change of the processor register, issue 32 item 4).
  'form.objection.added':
    'I object to this change of your service providers ({{key}}): From {{effectiveDate}}, {{providerName}} ({{providerLocation}}) will process {{dataCategories}} for us: {{purpose}}.',
  'form.objection.removed':
    'I object to this change of your service providers ({{key}}): From {{effectiveDate}}, {{providerName}} will no longer process data for us.',

  'code.title': 'Confirm your request',
  'code.intro':
    'We sent a six-digit code to the address you gave (it can take a minute to arrive). It works for 10 minutes and 5 tries.',
  'code.code': 'The code',
  'code.submit': 'Confirm my request',
  'code.resend': 'Send me a new code',
  'code.sent': 'A new code is on its way.',
  'code.error.invalid': 'That is not the code we sent for this request. Check it, or ask for a new one.',
  'code.error.expired': 'This code has expired (a code works for 10 minutes). Ask for a new one below.',
  'code.error.attempts': 'This code was tried 5 times and no longer works. Ask for a new one below.',

  'gone.title': 'Nothing to confirm here',
  'gone.body': 'This request is not waiting for a code: it was confirmed already, or it was not confirmed in time.',
  'gone.again': '<link>Make a new request</link>.',

  'confirmed.title': 'Your request is confirmed',
  'confirmed.status': 'Your request is confirmed.',
  'confirmed.due': 'We answer by {{dueDate}}, and write to you at every step. Your reference: <strong>{{id}}</strong>.',
  'confirmed.questions': 'Questions? Answer any of our messages, or write to the privacy team.',

  'confirmed.phone':
    'Your request is also about a phone number. The businesses that use HarakaFlow to message that number decide about their own data: we pass your request to each of them once you show us that the number is yours.',
  'confirmed.phone.link': '<link>Prove the number with WhatsApp</link>',

  'phone.title': 'Prove your number',
  'phone.intro':
    'To show that {{phone}} is your number, you will send us a short code from it with WhatsApp. We then pass your request to every business that holds data about that number.',
  'phone.show': 'Show me the code',
  'phone.proved': 'The number {{phone}} is proved to be yours.',
  'phone.forwarded.none':
    'No business using HarakaFlow holds data about this number, so there was nobody to pass your request to. We have emailed you this.',
  'phone.forwarded.one':
    'We passed your request to the one business that holds data about this number. It has 30 days to answer; we email you its answer.',
  'phone.forwarded.many':
    'We passed your request to the {{count}} businesses that hold data about this number. Each has 30 days to answer; we email you each answer.',
  'phone.error.limit': 'Too many codes were asked for this number in the last hour. Please try again later.',
  'phone.error.off': 'Numbers cannot be proved on this server yet. Please write to the privacy team instead.',
  'phone.gone.title': 'Nothing to prove here',
  'phone.gone.body': 'No confirmed request about a phone number waits here.',

  'send.title': 'Send the code from your number',
  'send.how': 'From WhatsApp on {{phone}}, send this message to <strong>{{sendTo}}</strong> before {{expiresAt}}:',
  'send.open': '<link>Open WhatsApp with the message written</link>',
  'send.check':
    'Only a message from that number counts. Once you have sent it, <link>check here</link>: we also email you when your request is passed on.',

  // The export link's page (issue 30 item 7): its download buttons, and the page of a used or expired link.
  'export.title': 'Your data export',
  'export.ready':
    'Your copy of your HarakaFlow data is ready (about {{size}} MB). The link downloads it <strong>once</strong>, until {{expiresAt}}; after the download it is deleted from our servers.',
  'export.json': 'Download my data (JSON)',
  'export.zip': 'Download my data (zip)',
  'export.note':
    'Opening this page does not use the link up: only a button does. If the download is interrupted, ask for a new copy from the <link>privacy centre</link>.',
  'export.gone.title': 'This link no longer works',
  'export.gone.body':
    'This download link was already used, or it has expired: each link downloads your data once, for a limited time.',
  'export.gone.again': 'You can ask for a new copy from the <link>privacy centre</link>.',

  // The processor register's page (issue 32 item 4): the page's own words; the register's data (names, purposes,
  // categories, locations, notes) stays as the operator wrote it.
  'register.title': 'Our service providers',
  'register.intro':
    'These service providers process personal data on our behalf (privacy policy §5), bound by contract to use it only to provide their service to us. Where data leaves the country it was collected in, the safeguard is named (§9).',
  'register.provider': 'Provider',
  'register.purpose': 'Purpose',
  'register.data': 'Data',
  'register.location': 'Location',
  'register.transfer': 'Transfer safeguard',
  'register.contract': 'Contract',
  'register.since': 'Since',
  'register.terms': 'Terms',
  'register.period': '{{since}} to {{until}}',
  'register.transfer.none': 'No transfer: processed where it was collected',
  'register.transfer.adequacy': 'Adequacy decision',
  'register.transfer.scc': 'Standard Contractual Clauses (module {{module}})',
  'register.transfer.dpf': 'EU-U.S. Data Privacy Framework',
  'register.changes': 'Announced changes',
  'register.change.added':
    'From {{effectiveDate}}, {{providerName}} ({{providerLocation}}) will process {{dataCategories}} for us: {{purpose}}.',
  'register.change.removed': 'From {{effectiveDate}}, {{providerName}} will no longer process data for us.',
  'register.object': 'Object to this change',
  'register.noChange': 'No change is announced.',
  'register.notice':
    'Every account is told of a change by email at least {{noticeDays}} days before it takes effect. The same register as JSON: <link>/v1/privacy/subprocessors</link>.',
  'register.centre': '<link>The privacy centre</link>',
} as const;
