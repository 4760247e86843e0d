/**
 * The Swahili texts of the public pages (issue 32 item 7: the request form, the export link's page,
 * the processor register's): the same keys, placeholders and markup as en.ts, written for their
 * meaning in Kenyan usage ("ombi" a request, "data yako" your data, "futa" delete, "uchakataji"
 * processing, "msimbo" a code, "kiungo" a link, "pakua" download, "mtoa huduma" a provider).
 * HarakaFlow, API, JSON, zip, +254 and the names of legal instruments (in parentheses) stay.
 */
import type { PageCatalogue } from './catalogue.js';

export const sw: PageCatalogue = {
  'nav.languages': 'Lugha',

  'form.title': 'Tuma ombi kuhusu data yako',
  'form.intro':
    'Huna akaunti, au huna ufunguo wa API karibu? Omba hapa. Tutakutumia msimbo wa tarakimu sita kwenye anwani yako ya barua pepe, na ombi litawasilishwa utakapouweka. Ikiwa ni anwani iliyothibitishwa ya akaunti ya HarakaFlow, ombi litahusu akaunti hiyo. Tutakujibu ndani ya siku 30 (sera ya faragha §6).',
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
  'form.error.contact':
    'Tafadhali andika nambari ya simu ukianza na + na msimbo wa nchi, kisha nambari yenyewe (tarakimu 15 au chache), au uiache wazi.',
  'form.objection.added':
    'Ninapinga mabadiliko haya ya watoa huduma wenu ({{key}}): kuanzia {{effectiveDate}}, {{providerName}} ({{providerLocation}}) itachakata {{dataCategories}} kwa niaba yenu, kwa madhumuni haya: {{purpose}}.',
  'form.objection.removed':
    'Ninapinga mabadiliko haya ya watoa huduma wenu ({{key}}): kuanzia {{effectiveDate}}, {{providerName}} haitachakata tena data kwa niaba yenu.',

  'code.title': 'Thibitisha ombi lako',
  'code.intro':
    'Tumetuma msimbo wa tarakimu sita kwenye anwani uliyotoa (unaweza kuchukua dakika moja kufika). Unafanya kazi kwa dakika 10 na majaribio 5.',
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
  'confirmed.due':
    'Tutakujibu kufikia {{dueDate}}, na tutakuandikia katika kila hatua. Nambari yako ya kumbukumbu: <strong>{{id}}</strong>.',
  'confirmed.questions': 'Una maswali? Jibu ujumbe wetu wowote, au iandikie timu ya faragha.',

  'confirmed.phone':
    'Ombi lako pia linahusu nambari ya simu. Biashara zinazotumia HarakaFlow kutuma ujumbe kwa nambari hiyo ndizo huamua kuhusu data zao: tutapeleka ombi lako kwa kila moja yao mara utakapotuonyesha kwamba nambari hiyo ni yako.',
  'confirmed.phone.link': '<link>Thibitisha nambari kwa WhatsApp</link>',

  'phone.title': 'Thibitisha nambari yako',
  'phone.intro':
    'Ili kuonyesha kwamba {{phone}} ni nambari yako, utatutumia msimbo mfupi kutoka kwayo kupitia WhatsApp. Kisha tutapeleka ombi lako kwa kila biashara iliyo na data kuhusu nambari hiyo.',
  'phone.show': 'Nionyeshe msimbo',
  'phone.proved': 'Imethibitishwa kwamba nambari {{phone}} ni yako.',
  'phone.forwarded.none':
    'Hakuna biashara inayotumia HarakaFlow iliyo na data kuhusu nambari hii, kwa hivyo hapakuwa na wa kupelekewa ombi lako. Tumekujulisha hili kwa barua pepe.',
  'phone.forwarded.one':
    'Tumepeleka ombi lako kwa biashara moja iliyo na data kuhusu nambari hii. Ina siku 30 za kujibu; tutakutumia jibu lake kwa barua pepe.',
  'phone.forwarded.many':
    'Tumepeleka ombi lako kwa biashara {{count}} zilizo na data kuhusu nambari hii. Kila moja ina siku 30 za kujibu; tutakutumia kila jibu kwa barua pepe.',
  'phone.error.limit':
    'Misimbo mingi mno imeombwa kwa nambari hii katika saa moja iliyopita. Tafadhali jaribu tena baadaye.',
  'phone.error.off': 'Seva hii bado haiwezi kuthibitisha nambari. Tafadhali iandikie timu ya faragha badala yake.',
  'phone.gone.title': 'Hakuna cha kuthibitisha hapa',
  'phone.gone.body': 'Hakuna ombi lililothibitishwa kuhusu nambari ya simu linalosubiri hapa.',

  'send.title': 'Tuma msimbo kutoka kwa nambari yako',
  'send.how':
    'Kutoka WhatsApp kwenye {{phone}}, tuma ujumbe huu kwa <strong>{{sendTo}}</strong> kabla ya {{expiresAt}}:',
  'send.open': '<link>Fungua WhatsApp na ujumbe ukiwa umeandikwa tayari</link>',
  'send.check':
    'Ujumbe kutoka kwa nambari hiyo pekee ndio unaohesabiwa. Ukishautuma, <link>angalia hapa</link>: pia tutakutumia barua pepe ombi lako litakapopelekwa.',

  'export.title': 'Nakala ya data yako',
  'export.ready':
    'Nakala ya data yako ya HarakaFlow iko tayari (takriban MB {{size}}). Kiungo hiki kinaipakua <strong>mara moja tu</strong>, hadi {{expiresAt}}; baada ya kupakuliwa, inafutwa kwenye seva zetu.',
  'export.json': 'Pakua data yangu (JSON)',
  'export.zip': 'Pakua data yangu (zip)',
  'export.note':
    'Kufungua ukurasa huu hakutumii kiungo: ni kitufe pekee kinachokitumia. Upakuaji ukikatizwa, omba nakala mpya kwenye <link>kituo cha faragha</link>.',
  'export.gone.title': 'Kiungo hiki hakifanyi kazi tena',
  'export.gone.body':
    'Kiungo hiki cha kupakua kimeshatumika, au muda wake umekwisha: kila kiungo kinapakua data yako mara moja tu, kwa muda maalum.',
  'export.gone.again': 'Unaweza kuomba nakala mpya kwenye <link>kituo cha faragha</link>.',

  'register.title': 'Watoa huduma wetu',
  'register.intro':
    'Watoa huduma hawa huchakata data binafsi kwa niaba yetu (sera ya faragha §5), na wamefungwa na mkataba kuitumia tu kutupa huduma yao. Data inapotoka nje ya nchi ilipokusanywa, kinga inayoilinda imetajwa (§9).',
  'register.provider': 'Mtoa huduma',
  'register.purpose': 'Madhumuni',
  'register.data': 'Aina za data',
  'register.location': 'Mahali',
  'register.transfer': 'Kinga ya uhamishaji wa data',
  'register.contract': 'Mkataba',
  'register.since': 'Tangu',
  'register.terms': 'Masharti',
  'register.period': '{{since}} hadi {{until}}',
  'register.transfer.none': 'Hakuna uhamishaji: inachakatwa pale ilipokusanywa',
  'register.transfer.adequacy': 'Uamuzi kwamba nchi hiyo ina ulinzi wa kutosha (adequacy decision)',
  'register.transfer.scc': 'Vifungu vya Kawaida vya Mkataba (Standard Contractual Clauses, moduli {{module}})',
  'register.transfer.dpf': 'Mfumo wa Faragha ya Data kati ya EU na Marekani (EU-U.S. Data Privacy Framework)',
  'register.changes': 'Mabadiliko yaliyotangazwa',
  'register.change.added':
    'Kuanzia {{effectiveDate}}, {{providerName}} ({{providerLocation}}) itachakata {{dataCategories}} kwa niaba yetu, kwa madhumuni haya: {{purpose}}.',
  'register.change.removed': 'Kuanzia {{effectiveDate}}, {{providerName}} haitachakata tena data kwa niaba yetu.',
  'register.object': 'Pinga mabadiliko haya',
  'register.noChange': 'Hakuna mabadiliko yaliyotangazwa.',
  'register.notice':
    'Kila akaunti hujulishwa kuhusu mabadiliko kwa barua pepe angalau siku {{noticeDays}} kabla hayajaanza kutumika. Orodha hiyo hiyo kwa JSON: <link>/v1/privacy/subprocessors</link>.',
  'register.centre': '<link>Kituo cha faragha</link>',
};
