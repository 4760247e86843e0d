/**
 * The Swahili catalogue (issue 32 item 7): the customers' contacts are largely +254 numbers. The
 * same keys and placeholders as en.ts (the type makes a missing or extra key a compile error), each
 * written for its meaning in Kenyan usage, not word for word: "ombi" for a request, "data yako"
 * for your data, "kufuta" for deletion, "uchakataji" for processing (as the Office of the Data
 * Protection Commissioner writes it), "msimbo" for a code, "kiungo" for a link. Product names,
 * HTTP methods, paths, status codes and technical words Kenyan developers use as they are
 * (API, webhook, endpoint) stay untranslated.
 */
import type { Catalogue } from './catalogue.js';

export const sw: Catalogue = {
  'common.greeting': 'Habari {{name}},',
  'common.greetingAnonymous': 'Habari,',
  'common.signature': 'Timu ya faragha ya HarakaFlow ({{privacyContact}})',
  'common.requestRef': 'Nambari ya ombi: {{requestId}}.',

  'request.kind.access': 'kupata data yako',
  'request.kind.portability': 'nakala ya data yako unayoweza kuhamishia kwingine',
  'request.kind.correction': 'kusahihisha data yako',
  'request.kind.deletion': 'kufuta data yako',
  'request.kind.restriction': 'kuzuia uchakataji wa data yako',
  'request.kind.objection': 'kupinga matumizi fulani ya data yako',
  'request.kind.withdraw_consent': 'kuondoa idhini yako',
  'request.kind.unclassified': 'swali au ombi kuhusu data yako',

  'quota.warning.subject': 'HarakaFlow: umetumia {{percent}}% ya kikomo cha {{quota}}',
  'quota.warning.used':
    '{{businessName}} imetumia {{used}} kati ya {{limit}} ({{quota}}). Kikomo kitaanza upya {{resetAt}}; hadi wakati huo, maombi ya API yanayozidi kikomo yatakataliwa kwa HTTP 429.',
  'quota.warning.usedAnonymous':
    'Akaunti yako imetumia {{used}} kati ya {{limit}} ({{quota}}). Kikomo kitaanza upya {{resetAt}}; hadi wakati huo, maombi ya API yanayozidi kikomo yatakataliwa kwa HTTP 429.',
  'quota.warning.why': 'Unapokea ujumbe huu kwa sababu arifa za kikomo zimewashwa kwenye akaunti yako.',
  'quota.warning.stop': 'Zima arifa za kikomo',

  'policy.upcoming.subject': 'Sera ya faragha ya HarakaFlow: mabadiliko yataanza kutumika tarehe {{effectiveDate}}',
  'policy.upcoming.change':
    'Tunabadilisha sera yetu ya faragha. Toleo {{version}} litaanza kutumika tarehe {{effectiveDate}}, angalau siku 14 baada ya taarifa hii (sera ya faragha §11).',
  'policy.upcoming.read': 'Soma sera mpya',
  'policy.upcoming.accept':
    'Ukiendelea kutumia HarakaFlow baada ya tarehe hiyo, utakuwa umekubali toleo jipya. Usipolikubali, unaweza kupakua data yako au kufuta akaunti yako kabla ya tarehe hiyo.',

  'subprocessors.upcoming.subject': 'Watoa huduma wa HarakaFlow: mabadiliko tarehe {{effectiveDate}}',
  'subprocessors.upcoming.added':
    'Tunabadilisha wanaochakata data binafsi kwa niaba yetu. Kuanzia {{effectiveDate}}, {{providerName}} ({{providerLocation}}) itachakata {{dataCategories}} kwa niaba yetu, kwa madhumuni haya: {{purpose}}.',
  'subprocessors.upcoming.removed':
    'Tunabadilisha wanaochakata data binafsi kwa niaba yetu. Kuanzia {{effectiveDate}}, {{providerName}} haitachakata tena data kwa niaba yetu.',
  'subprocessors.upcoming.described': 'Tunabadilisha wanaochakata data binafsi kwa niaba yetu. {{change}}',
  'subprocessors.upcoming.effect':
    'Mabadiliko haya yataanza kutumika tarehe {{effectiveDate}}, angalau siku {{noticeDays}} baada ya taarifa hii (sera ya faragha §5 na §11).',
  'subprocessors.upcoming.register': 'Soma orodha ya watoa huduma wetu',
  'subprocessors.upcoming.objection':
    'Ikiwa unapinga mabadiliko haya, tujulishe kabla ya tarehe hiyo: kiungo hiki kinafungua ombi la pingamizi, ambalo tutalijibu ndani ya siku 30 (§6).',
  'subprocessors.upcoming.object': 'Pinga mabadiliko haya',

  'privacy.request.updated.received.subject': 'HarakaFlow: tumepokea ombi lako ({{kindLabel}})',
  'privacy.request.updated.received':
    'Tumepokea ombi lako: {{kindLabel}}. Tutakujibu kufikia {{dueDate}} (ndani ya siku 30, sera ya faragha §6).',
  'privacy.request.updated.confirmWithCode.subject': 'HarakaFlow: tafadhali thibitisha ombi lako ({{kindLabel}})',
  'privacy.request.updated.confirmWithCode':
    'Tumepokea ombi lako: {{kindLabel}}. Tutakujibu kufikia {{dueDate}} (ndani ya siku 30, sera ya faragha §6). Kabla hatujalishughulikia, tafadhali thibitisha kuwa ni wewe uliyelituma: weka msimbo huu kwenye ukurasa ulio hapa chini kabla ya {{codeExpiresAt}}.',
  'privacy.request.updated.confirmWithCode.link': 'Thibitisha ombi lako',
  'privacy.request.updated.confirmWithCode.help':
    'Msimbo unafanya kazi kwa dakika 10; ukurasa huo utakutumia msimbo mpya ikiwa muda wake umekwisha. Ikiwa hukutuandikia, puuza ujumbe huu: hatutafanya lolote bila msimbo.',
  'privacy.request.updated.mustConfirm.subject':
    'HarakaFlow: tumepokea ombi lako; tunahitaji kuthibitisha kuwa ni lako ({{kindLabel}})',
  'privacy.request.updated.mustConfirm':
    'Tumepokea ombi lako: {{kindLabel}}. Kabla hatujalishughulikia, lazima tuthibitishe kuwa ni wewe uliyelituma: tutakuandikia kukueleza jinsi ya kufanya hivyo, na unaweza kujibu ujumbe huu. Tutakujibu kufikia {{dueDate}} (ndani ya siku 30, sera ya faragha §6).',
  'privacy.request.updated.inProgress.subject': 'HarakaFlow: tunashughulikia ombi lako ({{kindLabel}})',
  'privacy.request.updated.inProgress':
    'Tunashughulikia ombi lako: {{kindLabel}}. Tutakujibu kufikia {{dueDate}} (ndani ya siku 30, sera ya faragha §6).',
  'privacy.request.updated.lifted.subject': 'HarakaFlow: uzuiaji wa uchakataji wa data ya akaunti yako umeondolewa',
  'privacy.request.updated.lifted.byUs':
    'Uzuiaji wa uchakataji wa data ya akaunti yako umeondolewa: kuanzia sasa data yako itachakatwa tena kama sera ya faragha inavyoeleza (§6). Sababu: {{reason}}',
  'privacy.request.updated.lifted.byYou':
    'Umeondoa uzuiaji wa uchakataji wa data ya akaunti yako: kuanzia sasa data yako itachakatwa tena kama sera ya faragha inavyoeleza (§6).',
  'privacy.request.updated.lifted.again': 'Unaweza kuomba uzuiaji mpya wakati wowote.',
  'privacy.request.updated.extended.subject': 'HarakaFlow: tunahitaji muda zaidi kwa ombi lako ({{kindLabel}})',
  'privacy.request.updated.extended':
    'Tunahitaji muda zaidi kushughulikia ombi lako: {{kindLabel}}. Tarehe mpya ya kukujibu ni {{dueDate}}. Sababu: {{reason}}',
  'privacy.request.updated.extended.noReason':
    'Tunahitaji muda zaidi kushughulikia ombi lako: {{kindLabel}}. Tarehe mpya ya kukujibu ni {{dueDate}}.',
  'privacy.request.updated.exportReady.subject': 'HarakaFlow: nakala ya data yako iko tayari',
  'privacy.request.updated.exportReady':
    'Nakala ya data uliyoomba iko tayari. Kiungo kinafanya kazi mara moja tu, hadi {{exportExpiresAt}}.',
  'privacy.request.updated.exportReady.link': 'Pakua data yako',
  'privacy.request.updated.done.subject': 'HarakaFlow: ombi lako limetekelezwa ({{kindLabel}})',
  'privacy.request.updated.done': 'Ombi lako limetekelezwa: {{kindLabel}}.',
  'privacy.request.updated.done.receipt':
    'Ombi lako limetekelezwa: {{kindLabel}}. Kila sehemu ya huduma ilichofuta na ilichohifadhi: {{receipt}}',
  'privacy.request.updated.done.signedReceipt':
    'Risiti ya ufutaji iliyotiwa saini, unayoweza kuikagua kwa funguo zetu za umma ({{keysUrl}}): {{receiptJson}}',
  'privacy.request.updated.receipt.part': '{{part}}: imefuta rekodi {{erased}}',
  'privacy.request.updated.receipt.partKept':
    '{{part}}: imefuta rekodi {{erased}}, imehifadhi rekodi {{kept}} ({{reason}})',
  'privacy.request.updated.receipt.partKeptByLaw':
    '{{part}}: imefuta rekodi {{erased}}, imehifadhi rekodi {{kept}} (kwa mujibu wa sheria)',
  'privacy.request.updated.denied.subject': 'HarakaFlow: ombi lako limekataliwa ({{kindLabel}})',
  'privacy.request.updated.denied': 'Hatukuweza kutekeleza ombi lako: {{kindLabel}}. Sababu: {{reason}}',
  'privacy.request.updated.denied.noReason': 'Hatukuweza kutekeleza ombi lako: {{kindLabel}}.',
  'privacy.request.updated.denied.complain':
    'Unaweza kuwasilisha malalamiko kwa Ofisi ya Kamishna wa Ulinzi wa Data (Kenya).',
  'privacy.request.updated.canceled.subject': 'HarakaFlow: ombi lako limeghairiwa ({{kindLabel}})',
  'privacy.request.updated.canceled': 'Ombi lako limeghairiwa: {{kindLabel}}.',
  'privacy.request.updated.expired.subject': 'HarakaFlow: muda wa ombi lako umekwisha ({{kindLabel}})',
  'privacy.request.updated.expired': 'Muda wa ombi lako umekwisha: {{kindLabel}}. Halikuthibitishwa ndani ya siku 30.',

  'account.email.verification.subject': 'HarakaFlow: thibitisha anwani yako ya barua pepe',
  'account.email.verification.code':
    'Anwani hii ilitolewa kwa ajili ya akaunti ya HarakaFlow. Ili kuthibitisha kuwa ni yako, tuma msimbo huu pamoja na ufunguo wa API wa akaunti hiyo (POST {{verifyPath}}, {"code": "…"}) kabla ya {{expiresAt}}:',
  'account.email.verification.until':
    'Hadi anwani hii itakapothibitishwa, hatutatuma kwake chochote isipokuwa msimbo huu, taarifa za usalama na taarifa za mabadiliko ya sera yetu ya faragha. Ikiwa hukujisajili, puuza ujumbe huu.',

  'webhook.endpoint_disabled.subject': 'HarakaFlow: endpoint yako ya webhook {{endpointOrigin}} imezimwa',
  'webhook.endpoint_disabled.gone':
    'Tuliacha kutuma webhooks kwa endpoint yako {{endpointOrigin}} (kitambulisho {{endpointId}}) tarehe {{disabledAt}}: ilijibu 410 Gone, ikimaanisha kuwa haitaki kutumiwa tena.',
  'webhook.endpoint_disabled.failing':
    'Tuliacha kutuma webhooks kwa endpoint yako {{endpointOrigin}} (kitambulisho {{endpointId}}) tarehe {{disabledAt}}: kila jaribio la kuwasilisha lilishindwa tangu {{failingSince}}.',
  'webhook.endpoint_disabled.failingDays':
    'Tuliacha kutuma webhooks kwa endpoint yako {{endpointOrigin}} (kitambulisho {{endpointId}}) tarehe {{disabledAt}}: kila jaribio la kuwasilisha lilishindwa kwa siku kadhaa.',
  'webhook.endpoint_disabled.described':
    'Tuliacha kutuma webhooks kwa endpoint yako {{endpointOrigin}} (kitambulisho {{endpointId}}) tarehe {{disabledAt}}: {{reason}}.',
  'webhook.endpoint_disabled.held':
    'Hakuna kinachopotea: webhooks zinazosubiri ({{held}}) zimehifadhiwa, pamoja na matukio ya kipindi chote itakachokaa imezimwa, kila moja kwa siku 30. Endpoint ikifanya kazi tena, iwashe (POST {{enablePath}}) na zitatumwa.',
  'webhook.endpoint_disabled.log':
    'Kila jaribio limeandikwa kwenye kumbukumbu ya uwasilishaji (GET {{deliveriesPath}}); webhooks zilizoshindwa kabisa zinaweza kupangwa kutumwa tena (POST {{recoverPath}} pamoja na {"since": "…"}).',

  'privacy.request.code.subject': 'HarakaFlow: msimbo wa kuthibitisha ombi lako kuhusu faragha',
  'privacy.request.code.code':
    'HarakaFlow imepokea ombi kuhusu anwani hii ya barua pepe: {{kindLabel}}. Ili kuthibitisha kuwa ni wewe uliyelituma, weka msimbo huu kwenye ukurasa wa ombi kabla ya {{expiresAt}} (unafanya kazi kwa dakika 10 na majaribio 5):',
  'privacy.request.code.link': 'Weka msimbo',
  'privacy.request.code.ignore': 'Ikiwa hukuomba, puuza ujumbe huu: hatutafanya lolote bila msimbo.',

  'account.deletion.scheduled.subject': 'HarakaFlow: akaunti yako itafutwa tarehe {{purgeDate}}',
  'account.deletion.scheduled.when':
    'Tumepokea ombi la kufuta akaunti ya {{businessName}}. Funguo zake za API zimesimamishwa sasa, na tarehe {{purgeDate}} data yake itafutwa (sera ya faragha §4), isipokuwa ile ambayo sheria inatulazimu kuhifadhi; risiti ya ufutaji itaiorodhesha.',
  'account.deletion.scheduled.whenAnonymous':
    'Tumepokea ombi la kufuta akaunti yako. Funguo zake za API zimesimamishwa sasa, na tarehe {{purgeDate}} data yake itafutwa (sera ya faragha §4), isipokuwa ile ambayo sheria inatulazimu kuhifadhi; risiti ya ufutaji itaiorodhesha.',
  'account.deletion.scheduled.cancel':
    'Umebadilisha nia? Ghairi kabla ya tarehe hiyo kwa kutumia mojawapo ya funguo za API za akaunti: POST {{cancelPath}}.',

  // Toleo 32 kipengele 3: ombi la mwasiliani limepelekwa kwa akaunti iliyo na data ya nambari.
  'privacy.request.forwarded.subject':
    'HarakaFlow: ombi la faragha kutoka kwa mmoja wa wateja wako, la kujibiwa kufikia {{dueDate}}',
  'privacy.request.forwarded.asked':
    'Mtu ametuonyesha kwamba nambari ya WhatsApp {{phone}} ni yake, na ametuma ombi kuhusu nambari hiyo: {{kindLabel}}. Akaunti yako ina data kuhusu nambari hii, na wewe ndiye unayeamua kuhusu data ya wateja wako (HarakaFlow huichakata kwa niaba yako), kwa hivyo ni jukumu lako kujibu ombi hili. Tafadhali jibu kufikia {{dueDate}}.',
  'privacy.request.forwarded.answer':
    'Jibu ukitumia mojawapo ya funguo zako za API: POST {{answerPath}}/fulfil ukishalitekeleza (pamoja na ujumbe ambao mtu huyo atausoma), POST {{answerPath}}/deny pamoja na sababu yako, au POST {{answerPath}}/erase ili HarakaFlow imfute mwasiliani huyu kwenye data ya akaunti yako sasa hivi (mtu huyo atapokea risiti iliyotiwa sahihi). Maombi yote yanayokusubiri: GET {{listPath}}.',
  'privacy.request.forwarded.disclose':
    'Mtu huyo atajua jina la biashara yako tu ukichagua kumwambia ("disclose": true).',
  'privacy.request.forwarded.ref': 'Ombi lililopelekwa {{forwardedId}}.',
  'privacy.contact.forwarded.subject': 'HarakaFlow: ombi lako kuhusu {{phone}} ({{kindLabel}})',
  'privacy.contact.forwarded.none':
    'Asante kwa kuthibitisha kwamba {{phone}} ni nambari yako. Hakuna biashara inayotumia HarakaFlow iliyo na data kuhusu nambari hii, kwa hivyo hakuna wa kupelekewa ombi lako.',
  'privacy.contact.forwarded.one':
    'Asante kwa kuthibitisha kwamba {{phone}} ni nambari yako. Tumepeleka ombi lako kwa biashara moja inayotumia HarakaFlow iliyo na data kuhusu nambari hii. Biashara hiyo ndiyo huamua kuhusu data hiyo na ina siku {{dueDays}} za kujibu; tutakutumia jibu lake kwa barua pepe.',
  'privacy.contact.forwarded.many':
    'Asante kwa kuthibitisha kwamba {{phone}} ni nambari yako. Tumepeleka ombi lako kwa biashara {{count}} zinazotumia HarakaFlow zilizo na data kuhusu nambari hii. Kila moja huamua kuhusu data yake na ina siku {{dueDays}} za kujibu; tutakutumia kila jibu kwa barua pepe linapofika.',
  'privacy.contact.outcome.subject': 'HarakaFlow: jibu la ombi lako kuhusu {{phone}} ({{kindLabel}})',
  'privacy.contact.outcome.fulfilled': 'Mojawapo ya biashara tulizopelekea ombi lako inasema imelitekeleza.',
  'privacy.contact.outcome.fulfilled.note':
    'Mojawapo ya biashara tulizopelekea ombi lako inasema imelitekeleza. Ujumbe wake, kwa maneno yake yenyewe (si ya HarakaFlow): {{note}}',
  'privacy.contact.outcome.fulfilled.named': 'Biashara {{business}} inasema imetekeleza ombi lako.',
  'privacy.contact.outcome.fulfilled.named.note':
    'Biashara {{business}} inasema imetekeleza ombi lako. Ujumbe wake, kwa maneno yake yenyewe (si ya HarakaFlow): {{note}}',
  'privacy.contact.outcome.denied':
    'Mojawapo ya biashara tulizopelekea ombi lako imelikataa. Sababu yake, kwa maneno yake yenyewe (si ya HarakaFlow): {{note}}',
  'privacy.contact.outcome.denied.named':
    'Biashara {{business}} imekataa ombi lako. Sababu yake, kwa maneno yake yenyewe (si ya HarakaFlow): {{note}}',
  'privacy.contact.outcome.complain': 'Unaweza kuwasilisha malalamiko kwa Ofisi ya Kamishna wa Ulinzi wa Data (Kenya).',
  'privacy.contact.outcome.erased':
    'Mojawapo ya biashara tulizopelekea ombi lako imetuagiza tufute {{phone}} kwenye data yake. Kile ambacho kila sehemu ya huduma ilifuta na kubakiza: {{receipt}}',
  'privacy.contact.outcome.erased.named':
    'Biashara {{business}} imetuagiza tufute {{phone}} kwenye data yake. Kile ambacho kila sehemu ya huduma ilifuta na kubakiza: {{receipt}}',

  'unsubscribe.page.languages': 'Lugha',
  'unsubscribe.page.title': 'Jiondoe kwenye arifa',
  'unsubscribe.page.question':
    'Ungependa kuacha kupokea arifa hizi za hiari za HarakaFlow? Arifa za usalama na za kisheria hutumwa kila wakati.',
  'unsubscribe.page.button': 'Jiondoe',
  'unsubscribe.done.title': 'Umejiondoa',
  'unsubscribe.done.body':
    'Hutapokea tena arifa hizi za hiari za HarakaFlow. Arifa za usalama na za kisheria bado zitatumwa.',
  'unsubscribe.invalid.title': 'Kiungo hiki hakifanyi kazi tena',
  'unsubscribe.invalid.body':
    'Kiungo hiki cha kujiondoa si sahihi, au muda wake umekwisha (kiungo hufanya kazi kwa siku {{days}}). Tumia kiungo kilicho katika ujumbe wa karibuni zaidi.',
};
