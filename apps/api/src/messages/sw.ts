/**
 * The Swahili texts of the public request form (issue 32 item 7): the same keys, placeholders and
 * markup as en.ts, written for their meaning in Kenyan usage ("ombi" a request, "data yako" your
 * data, "futa" delete, "uchakataji" processing, "msimbo" a code). HarakaFlow, API and +254 stay.
 */
import type { PageCatalogue } from '../languages.js';

export const sw: PageCatalogue = {
  'nav.languages': 'Lugha',

  'form.title': 'Tuma ombi kuhusu data yako',
  'form.intro': 'Huna akaunti, au huna ufunguo wa API karibu? Omba hapa. Tutakutumia msimbo wa tarakimu sita kwenye anwani yako ya barua pepe, na ombi litawasilishwa utakapouweka. Ikiwa ni anwani iliyothibitishwa ya akaunti ya HarakaFlow, ombi litahusu akaunti hiyo. Tutakujibu ndani ya siku 30 (sera ya faragha §6).',
  'form.email': 'Anwani yako ya barua pepe',
  'form.kind': 'Unaomba nini?',
  'form.contact': 'Nambari ya simu inayohusika (si lazima; kwa mfano +254...)',
  'form.details': 'Jambo lolote tunalopaswa kujua (si lazima)',
  'form.submit': 'Nitumie msimbo',
  'form.centre': 'Una ufunguo wa API? <link>Kituo cha faragha</link> kinakuwezesha kufanya haya yote mara moja.',
  'form.kind.access': 'Nakala ya data yangu (kupata data)',
  'form.kind.portability': 'Data yangu katika muundo ninaoweza kuhamisha',
  'form.kind.correction': 'Sahihisha data yangu',
  'form.kind.deletion': 'Futa data yangu',
  'form.kind.restriction': 'Zuia uchakataji wa data yangu',
  'form.kind.objection': 'Pinga matumizi fulani ya data yangu',
  'form.kind.withdraw_consent': 'Ondoa idhini yangu',
  'form.error.email': 'Tafadhali weka anwani ya barua pepe: msimbo utatumwa huko.',
  'form.error.kind': 'Tafadhali chagua unachoomba.',
  'form.error.contact': 'Tafadhali andika nambari ya simu ukianza na + na msimbo wa nchi, kisha nambari yenyewe (tarakimu 15 au chache), au uiache wazi.',
  'form.objection.added': 'Ninapinga mabadiliko haya ya watoa huduma wenu ({{key}}): kuanzia {{effectiveDate}}, {{providerName}} ({{providerLocation}}) itachakata {{dataCategories}} kwa niaba yenu, kwa madhumuni haya: {{purpose}}.',
  'form.objection.removed': 'Ninapinga mabadiliko haya ya watoa huduma wenu ({{key}}): kuanzia {{effectiveDate}}, {{providerName}} haitachakata tena data kwa niaba yenu.',

  'code.title': 'Thibitisha ombi lako',
  'code.intro': 'Tumetuma msimbo wa tarakimu sita kwenye anwani uliyotoa (unaweza kuchukua dakika moja kufika). Unafanya kazi kwa dakika 10 na majaribio 5.',
  'code.code': 'Msimbo',
  'code.submit': 'Thibitisha ombi langu',
  'code.resend': 'Nitumie msimbo mpya',
  'code.sent': 'Msimbo mpya uko njiani.',
  'code.error.invalid': 'Huo si msimbo tuliotuma kwa ombi hili. Uangalie tena, au uombe mwingine.',
  'code.error.expired': 'Muda wa msimbo huu umekwisha (msimbo unafanya kazi kwa dakika 10). Omba mwingine hapa chini.',
  'code.error.attempts': 'Msimbo huu umejaribiwa mara 5 na haufanyi kazi tena. Omba mwingine hapa chini.',

  'gone.title': 'Hakuna cha kuthibitisha hapa',
  'gone.body': 'Ombi hili halisubiri msimbo: limeshathibitishwa, au halikuthibitishwa kwa wakati.',
  'gone.again': '<link>Tuma ombi jipya</link>.',

  'confirmed.title': 'Ombi lako limethibitishwa',
  'confirmed.status': 'Ombi lako limethibitishwa.',
  'confirmed.due': 'Tutakujibu kufikia {{dueDate}}, na tutakuandikia katika kila hatua. Nambari yako ya kumbukumbu: <strong>{{id}}</strong>.',
  'confirmed.questions': 'Una maswali? Jibu ujumbe wetu wowote, au iandikie timu ya faragha.',

  'confirmed.phone': 'Ombi lako pia linahusu nambari ya simu. Biashara zinazotumia HarakaFlow kutuma ujumbe kwa nambari hiyo ndizo huamua kuhusu data zao: tutapeleka ombi lako kwa kila moja yao mara utakapotuonyesha kwamba nambari hiyo ni yako.',
  'confirmed.phone.link': '<link>Thibitisha nambari kwa WhatsApp</link>',

  'phone.title': 'Thibitisha nambari yako',
  'phone.intro': 'Ili kuonyesha kwamba {{phone}} ni nambari yako, utatutumia msimbo mfupi kutoka kwayo kupitia WhatsApp. Kisha tutapeleka ombi lako kwa kila biashara iliyo na data kuhusu nambari hiyo.',
  'phone.show': 'Nionyeshe msimbo',
  'phone.proved': 'Imethibitishwa kwamba nambari {{phone}} ni yako.',
  'phone.forwarded.none': 'Hakuna biashara inayotumia HarakaFlow iliyo na data kuhusu nambari hii, kwa hivyo hapakuwa na wa kupelekewa ombi lako. Tumekujulisha hili kwa barua pepe.',
  'phone.forwarded.one': 'Tumepeleka ombi lako kwa biashara moja iliyo na data kuhusu nambari hii. Ina siku 30 za kujibu; tutakutumia jibu lake kwa barua pepe.',
  'phone.forwarded.many': 'Tumepeleka ombi lako kwa biashara {{count}} zilizo na data kuhusu nambari hii. Kila moja ina siku 30 za kujibu; tutakutumia kila jibu kwa barua pepe.',
  'phone.error.limit': 'Misimbo mingi mno imeombwa kwa nambari hii katika saa moja iliyopita. Tafadhali jaribu tena baadaye.',
  'phone.error.off': 'Seva hii bado haiwezi kuthibitisha nambari. Tafadhali iandikie timu ya faragha badala yake.',
  'phone.gone.title': 'Hakuna cha kuthibitisha hapa',
  'phone.gone.body': 'Hakuna ombi lililothibitishwa kuhusu nambari ya simu linalosubiri hapa.',

  'send.title': 'Tuma msimbo kutoka kwa nambari yako',
  'send.how': 'Kutoka WhatsApp kwenye {{phone}}, tuma ujumbe huu kwa <strong>{{sendTo}}</strong> kabla ya {{expiresAt}}:',
  'send.open': '<link>Fungua WhatsApp na ujumbe ukiwa umeandikwa tayari</link>',
  'send.check': 'Ujumbe kutoka kwa nambari hiyo pekee ndio unaohesabiwa. Ukishautuma, <link>angalia hapa</link>: pia tutakutumia barua pepe ombi lako litakapopelekwa.',
};
