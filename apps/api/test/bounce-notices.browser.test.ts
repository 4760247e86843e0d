/// <reference lib="dom" />
// Issue 34 item 4 in Chromium: the app started as `start` starts it (its own process, PGlite),
// sending through a real SMTP server on a loopback port. The account verifies its address; its
// rights request's answer is refused for good (550), so the privacy centre shows it under "Notices we
// could not email you" until the person marks it as read; axe finds nothing serious.
import { startSmtp, until } from '@harakaflow/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.skipIf(!hasChromium)('notices that did not arrive, in the privacy centre', () => {
  let browser: Browser;
  let app: RunningApp;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
    [browser, app] = await Promise.all([launch(), startApp({ SMTP_URL: smtp.url })]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await smtp?.close();
  });

  it('lists a request answer that bounced, and marks it as read', async () => {
    const person = await newAccount(app.url);
    const bearer = { authorization: `Bearer ${person.apiKey}` };
    const mailTo = (kind: string) =>
      smtp.received.filter((m) => m.headers['x-harakaflow-notification'] === kind && m.to.includes(person.email));
    // The address verified as a person would: request answers go to a verified address only.
    await until(() => mailTo('account.email.verification').length > 0);
    const code = /^([0-9A-Z]{4}-[0-9A-Z]{4})\r?$/m.exec(mailTo('account.email.verification')[0]!.text)![1]!;
    expect((await call('POST', `${app.url}/v1/account/email/verify`, { code }, bearer)).status).toBe(200);
    // The next recipient is refused for good: the answer to the request.
    smtp.answers.push(550);
    expect((await call('POST', `${app.url}/v1/privacy/requests`, { kind: 'restriction' }, bearer)).status).toBe(202);
    await until(async () => (await call('GET', `${app.url}/v1/me`, undefined, bearer)).json.notices.length > 0);
    const [notice] = (await call('GET', `${app.url}/v1/me`, undefined, bearer)).json.notices as {
      id: string;
      subject: string;
      reason: string;
    }[];
    expect(notice).toMatchObject({
      reason: 'bounced',
      subject: 'HarakaFlow: we received your request (restriction of the processing of your data)',
    });

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/privacy`);
    await page.getByRole('button', { name: 'Refuse analytics' }).click();
    await page.getByLabel('API key').fill(person.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const region = page.getByRole('region', { name: 'Notices we could not email you' });
    await region.waitFor();
    await expect(region.getByText(notice!.subject).isVisible()).resolves.toBe(true);
    await expect(region.getByText(/your mail server sent it back/).isVisible()).resolves.toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'notices');
    await page.getByRole('button', { name: `Mark as read: ${notice!.subject}` }).click();
    await page.getByText('Marked as read.').waitFor();
    // The section goes once the page has drawn the answer (not necessarily with the message above).
    await region.waitFor({ state: 'hidden' });
    expect((await call('GET', `${app.url}/v1/me`, undefined, bearer)).json.notices).toEqual([]);
    await context.close();
  });
});
