// Issue 32 item 2: the public request form at /privacy/request, in Chromium with JavaScript off,
// against the app started as `start` starts it, sending its mail to an SMTP server of this test's
// own. A person without an account asks for a copy of their data, reads the code in the message,
// enters it on the page and sees the request confirmed with its due date; a wrong code says so on
// the page; a cross-site form post is refused; axe finds nothing serious.
import { startSmtp, until, type Received } from '@harakaflow/testing';
import type { Browser } from 'playwright-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBPROCESSORS } from '../src/privacy/subprocessors.js';
import { hubSignature } from '@harakaflow/webhooks';
import {
  call,
  hasChromium,
  launch,
  newAccount,
  seriousViolations,
  shot,
  startApp,
  type RunningApp,
} from './helpers-browser.js';

const META_APP_SECRET = 'browser-test-meta-secret-0123456789';
const PRIVACY_WHATSAPP_NUMBER = '+254700000888';

describe.skipIf(!hasChromium)('the public request form in Chromium, without JavaScript', () => {
  let browser: Browser;
  let app: RunningApp;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  // The processor register (issue 32 item 4): HarakaFlow's, and a provider that starts in 40 days.
  const startsOn = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
  beforeAll(async () => {
    smtp = await startSmtp();
    const registerFile = join(mkdtempSync(join(tmpdir(), 'hf-register-')), 'subprocessors.json');
    writeFileSync(
      registerFile,
      JSON.stringify([
        ...SUBPROCESSORS,
        {
          id: 'sms-gateway',
          name: 'Example SMS Gateway Ltd',
          purpose: 'Sends one-time codes by SMS',
          dataCategories: ['phone number'],
          location: 'Kenya',
          transfer: { mechanism: 'none' },
          contractUrl: 'https://example.com/dpa',
          since: startsOn,
        },
      ]),
    );
    [browser, app] = await Promise.all([
      launch(),
      startApp({ SMTP_URL: smtp.url, SUBPROCESSORS_FILE: registerFile, META_APP_SECRET, PRIVACY_WHATSAPP_NUMBER }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await smtp?.close();
  });

  const codeIn = async (to: string, count: number): Promise<string> => {
    await until(() => smtp.received.filter((m: Received) => m.to.includes(to)).length >= count, 30_000);
    return /^(\d{6})\r?$/m.exec(smtp.received.filter((m) => m.to.includes(to)).at(-1)!.text)![1]!;
  };

  it('takes a request from a person without an account, and opens it when the emailed code is entered', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${app.url}/privacy/request`);
    const email = `amani.${Date.now()}@example.org`;
    await page.getByLabel('Your email address').fill(email);
    await page.getByLabel('What do you ask for?').selectOption('access');
    await page.getByLabel('Anything we should know (optional)').fill('<b>not bold</b> please');
    await shot(page, 'request-form');
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByRole('heading', { name: 'Confirm your request' }).waitFor();
    const id = /\/privacy\/request\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const code = await codeIn(email, 1);

    // A wrong code first: the page says so, and the form is there again.
    await page.getByLabel('The code').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Confirm my request' }).click();
    await page.getByText('That is not the code we sent for this request').waitFor();
    // axe runs in the page (a script): each page again, in a context with JavaScript (the pages have none of their own).
    const checker = await browser.newContext();
    const check = await checker.newPage();
    for (const path of ['/privacy/request', `/privacy/request/${id}`]) {
      await check.goto(`${app.url}${path}`);
      expect(await seriousViolations(check), path).toEqual([]);
    }
    await checker.close();

    await page.getByLabel('The code').fill(code);
    await page.getByRole('button', { name: 'Confirm my request' }).click();
    await page.getByRole('heading', { name: 'Your request is confirmed' }).waitFor();
    await expect(page.getByText(id).isVisible()).resolves.toBe(true);
    await expect(page.getByText(/We answer by \d{4}-\d{2}-\d{2}/).isVisible()).resolves.toBe(true);
    await shot(page, 'request-form-confirmed');
    // The page sets no cookie and ran no script.
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });

  it('sends a new code from the page, and refuses a form posted from another site', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${app.url}/privacy/request`);
    const email = `baraka.${Date.now()}@example.org`;
    await page.getByLabel('Your email address').fill(email);
    await page.getByLabel('What do you ask for?').selectOption('deletion');
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByRole('heading', { name: 'Confirm your request' }).waitFor();
    await codeIn(email, 1);
    await page.getByRole('button', { name: 'Send me a new code' }).click();
    await page.getByText('A new code is on its way.').waitFor();
    const second = await codeIn(email, 2);
    await page.getByLabel('The code').fill(second);
    await page.getByRole('button', { name: 'Confirm my request' }).click();
    await page.getByRole('heading', { name: 'Your request is confirmed' }).waitFor();
    await context.close();

    // Another site's form: its own Origin, refused before anything is sent.
    const before = smtp.received.length;
    const forged = await call('POST', `${app.url}/privacy/request`, undefined, {
      origin: 'https://evil.example',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(forged.status).toBe(403);
    expect(forged.json.code).toBe('HF_AUTH_CSRF');
    expect(smtp.received.length).toBe(before);
  });

  // Issue 32 item 3: a request about a phone number goes to the businesses that hold it once the
  // person proves the number from WhatsApp (Meta's signed webhook brings the code).
  it('proves a number with a WhatsApp code shown on the page, and says how many businesses the request went to', async () => {
    const number = `+2547${String(process.pid % 10_000).padStart(4, '0')}${String(Date.now() % 100_000).padStart(5, '0')}`;
    const holder = await newAccount(app.url);
    const sent = await call(
      'POST',
      `${app.url}/v1/messages`,
      { sessionId: 'wa-1', to: number, text: 'Karibu' },
      { authorization: `Bearer ${holder.apiKey}` },
    );
    expect(sent.status).toBe(202);
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${app.url}/privacy/request`);
    const email = `zawadi.${Date.now()}@example.org`;
    await page.getByLabel('Your email address').fill(email);
    await page.getByLabel('What do you ask for?').selectOption('deletion');
    await page.getByLabel('A phone number it is about (optional, as +254...)').fill(number);
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByRole('heading', { name: 'Confirm your request' }).waitFor();
    await page.getByLabel('The code').fill(await codeIn(email, 1));
    await page.getByRole('button', { name: 'Confirm my request' }).click();
    await page.getByRole('heading', { name: 'Your request is confirmed' }).waitFor();
    await page.getByRole('link', { name: 'Prove the number with WhatsApp' }).click();
    await page.getByRole('heading', { name: 'Prove your number' }).waitFor();
    await page.getByRole('button', { name: 'Show me the code' }).click();
    await page.getByRole('heading', { name: 'Send the code from your number' }).waitFor();
    const code = (await page.getByText(/^HF-\d{6}$/).textContent())!.trim();
    const link = await page.getByRole('link', { name: 'Open WhatsApp with the message written' }).getAttribute('href');
    expect(link).toBe(`https://wa.me/${PRIVACY_WHATSAPP_NUMBER.slice(1)}?text=${code}`);
    await shot(page, 'request-form-phone-code');

    // The person sends it from WhatsApp: Meta's delivery, signed with the app secret.
    const delivery = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'messages',
              value: {
                metadata: { display_phone_number: PRIVACY_WHATSAPP_NUMBER.slice(1) },
                messages: [{ id: `wamid.${Date.now()}`, from: number.slice(1), type: 'text', text: { body: code } }],
              },
            },
          ],
        },
      ],
    };
    const hook = await call('POST', `${app.url}/v1/webhooks/inbound/meta`, delivery, {
      'x-hub-signature-256': hubSignature(JSON.stringify(delivery), META_APP_SECRET),
    });
    expect(hook.status).toBe(200);
    await page.getByRole('link', { name: 'check here' }).click();
    await page.getByText('We passed your request to the one business that holds data about this number.').waitFor();
    const listed = await call('GET', `${app.url}/v1/privacy/forwarded`, undefined, {
      authorization: `Bearer ${holder.apiKey}`,
    });
    expect(listed.json.forwarded).toEqual([
      expect.objectContaining({ phone: number, kind: 'deletion', status: 'open' }),
    ]);
    const checker = await browser.newContext();
    const check = await checker.newPage();
    await check.goto(page.url());
    expect(await seriousViolations(check)).toEqual([]);
    await checker.close();
    await context.close();
  });

  // Issue 32 item 7: a browser set to Swahili (Kenya) gets the form in Swahili, the switch's link
  // gives English and that choice stays through the form's posts; the code comes in Swahili when
  // the form was in Swahili.
  it('answers a Swahili browser in Swahili, switches to English by a link, and keeps the choice through its posts', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'sw-KE' });
    const page = await context.newPage();
    await page.goto(`${app.url}/privacy/request`);
    await page.getByRole('heading', { name: 'Tuma ombi kuhusu data yako' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('sw');
    const email = `wanjiku.${Date.now()}@example.org`;
    await page.getByLabel('Anwani yako ya barua pepe').fill(email);
    await page.getByLabel('Unaomba nini?').selectOption('deletion');
    await shot(page, 'request-form-sw');
    await page.getByRole('button', { name: 'Nitumie msimbo' }).click();
    await page.getByRole('heading', { name: 'Thibitisha ombi lako' }).waitFor();
    await codeIn(email, 1);
    const mail = smtp.received.filter((m) => m.to.includes(email)).at(-1)!;
    expect(mail.headers['content-language']).toBe('sw');
    expect(mail.headers.subject).toBe('HarakaFlow: msimbo wa kuthibitisha ombi lako kuhusu faragha');

    // The switch: English, by its own name; then the code page's posts stay in English.
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Confirm your request' }).waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.getByRole('button', { name: 'Send me a new code' }).click();
    await page.getByText('A new code is on its way.').waitFor();
    // The request was asked in Swahili: its new code is too.
    const second = await codeIn(email, 2);
    expect(smtp.received.filter((m) => m.to.includes(email)).at(-1)!.headers['content-language']).toBe('sw');
    await page.getByLabel('The code').fill(second === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Confirm my request' }).click();
    await page.getByText('That is not the code we sent for this request').waitFor();
    await context.close();

    const checker = await browser.newContext({ locale: 'sw-KE' });
    const check = await checker.newPage();
    await check.goto(`${app.url}/privacy/request`);
    expect(await check.locator('html').getAttribute('lang')).toBe('sw');
    expect(await seriousViolations(check)).toEqual([]);
    await checker.close();
  });

  it('shows the processor register without JavaScript; an announced change links to an objection on the form', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${app.url}/privacy/subprocessors`);
    await page.getByRole('heading', { name: 'Our service providers' }).waitFor();
    for (const p of SUBPROCESSORS)
      await expect(page.getByRole('rowheader', { name: p.name }).isVisible(), p.name).resolves.toBe(true);
    // Not listed as a provider before it starts; announced, with its date.
    await expect(page.getByRole('rowheader', { name: 'Example SMS Gateway Ltd' }).count()).resolves.toBe(0);
    await expect(
      page.getByText(`From ${startsOn}, Example SMS Gateway Ltd (Kenya) will process phone number for us`).isVisible(),
    ).resolves.toBe(true);
    await shot(page, 'subprocessors');
    await page.getByRole('link', { name: 'Object to this change' }).click();
    await page.getByRole('heading', { name: 'Make a privacy request' }).waitFor();
    await expect(page.getByLabel('What do you ask for?').inputValue()).resolves.toBe('objection');
    await expect(page.getByLabel('Anything we should know (optional)').inputValue()).resolves.toContain(
      `(subprocessors:sms-gateway:added:${startsOn}): From ${startsOn}, Example SMS Gateway Ltd`,
    );
    await context.close();
    const checker = await browser.newContext();
    const check = await checker.newPage();
    await check.goto(`${app.url}/privacy/subprocessors`);
    expect(await seriousViolations(check)).toEqual([]);
    await checker.close();
  });
});
