/// <reference lib="dom" />
// Issue 17: the privacy centre as a person uses it, in Chromium, against the app started as
// `start` starts it (PGlite). The banner for a new visitor, refusing, accepting, withdrawing, GPC,
// the no-JavaScript form, keyboard only, signing in, a copy of the data downloaded, an export
// link's page (issue 30 item 7: fetching it spends nothing, its button downloads), a restriction
// lifted (item 10), deletion (and its cancellation), axe on each state; and one run in production
// mode over TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, testDatabase, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { testApp } from './helpers.js';
import {
  call,
  cookieNames,
  devSecrets,
  hasChromium,
  launch,
  newAccount,
  seriousViolations,
  shot,
  startApp,
  type RunningApp,
} from './helpers-browser.js';

/** Signs `person` in from the page's form, as a person would. */
async function signInOnPage(page: Page, person: { email: string; apiKey: string }): Promise<void> {
  await page.getByLabel('API key').fill(person.apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${person.email}`).waitFor();
}

const EXPECTED_PARTS = ['app', 'messages', 'audit', 'consent', 'age_gate', 'vault', 'quota', 'webhooks', 'notify'];

describe.skipIf(!hasChromium)('the privacy centre in Chromium', () => {
  let browser: Browser;
  let app: RunningApp;
  beforeAll(async () => {
    [browser, app] = await Promise.all([launch(), startApp()]);
  }, 600_000); // a hang guard, not a measurement
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  async function visit(
    options: Parameters<Browser['newContext']>[0] = {},
  ): Promise<{ context: BrowserContext; page: Page }> {
    // English unless a test asks for another language (the page follows Accept-Language, issue 32 item 7).
    const context = await browser.newContext({ locale: 'en-GB', ...options });
    const page = await context.newPage();
    const thirdParty: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(app.url) && !r.url().startsWith('data:')) thirdParty.push(r.url());
    });
    page.on('close', () => expect(thirdParty).toEqual([]));
    await page.goto(`${app.url}/privacy`);
    return { context, page };
  }

  it('shows a new visitor the banner, with equal choices; refusing leaves no analytics cookie across three loads', async () => {
    const context0 = await browser.newContext();
    const first = await context0.newPage();
    let bytes = 0;
    first.on(
      'requestfinished',
      (r) => void r.sizes().then((z) => (bytes += z.responseBodySize + z.responseHeadersSize)),
    );
    await first.goto(`${app.url}/privacy`, { waitUntil: 'networkidle' });
    await new Promise((r) => setTimeout(r, 100));
    // The whole page, compressed, headers included.
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThan(60 * 1024);
    await context0.close();

    const { context, page } = await visit();
    const banner = page.getByRole('region', { name: 'Cookies on this site' });
    await expect(banner.isVisible()).resolves.toBe(true);
    const accept = page.getByRole('button', { name: 'Accept analytics' });
    const refuse = page.getByRole('button', { name: 'Refuse analytics' });
    // Refusing is as easy as accepting: the same kind of control, the same size.
    const [a, r] = [await accept.boundingBox(), await refuse.boundingBox()];
    expect(Math.abs(a!.width - r!.width)).toBeLessThan(2);
    expect(Math.abs(a!.height - r!.height)).toBeLessThan(2);
    await expect(page.getByText('Essential cookies').isVisible()).resolves.toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'banner');

    await refuse.click();
    await page.getByText('Your choice is saved: analytics cookies are off.').waitFor();
    for (let load = 0; load < 3; load++) {
      await page.reload();
      await page.waitForLoadState('networkidle');
      expect(await cookieNames(context)).not.toContain('hf_aid');
      await expect(banner.isVisible()).resolves.toBe(false);
    }
    expect(await cookieNames(context)).toContain('hf_consent');
    const state = await page.evaluate(async () => (await fetch('/v1/consent')).json());
    expect(state).toMatchObject({ source: 'user', categories: ['essential'] });
    await context.close();
  });

  it('accepting sets the analytics cookie; withdrawing from the preferences in the footer removes it', async () => {
    const { context, page } = await visit();
    await page.getByRole('button', { name: 'Accept analytics' }).click();
    await page.getByText('Your choice is saved: analytics cookies are on.').waitFor();
    expect(await cookieNames(context)).toContain('hf_aid');
    await page.getByRole('button', { name: 'Cookie preferences' }).click();
    const panel = page.getByRole('region', { name: 'Cookie preferences' });
    await expect(panel.isVisible()).resolves.toBe(true);
    await expect(page.getByLabel('Analytics (counting visits, first-party only)').isChecked()).resolves.toBe(true);
    await expect(
      page.getByLabel('Essential (always on: sign-in, your cookie choice, your language, security)').isDisabled(),
    ).resolves.toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'preferences');
    await page.getByRole('button', { name: 'Withdraw consent' }).click();
    await page.getByText('Your consent is withdrawn').waitFor();
    expect(await cookieNames(context)).not.toContain('hf_aid');
    await page.reload();
    await page.waitForLoadState('networkidle');
    expect(await cookieNames(context)).not.toContain('hf_aid');
    await context.close();
  });

  it('tells a visitor whose browser sends Global Privacy Control that it is honoured, and never sets the analytics cookie', async () => {
    const { context, page } = await visit({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
    await expect(page.getByText('Global Privacy Control signal: it is honoured').isVisible()).resolves.toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'gpc');
    for (let load = 0; load < 3; load++) {
      await page.reload();
      await page.waitForLoadState('networkidle');
      expect(await cookieNames(context)).not.toContain('hf_aid');
    }
    await context.close();
  });

  it('works without JavaScript: the banner is a plain form, answered 303 back to the page', async () => {
    const { context, page } = await visit({ javaScriptEnabled: false });
    const responses: number[] = [];
    page.on('response', (r) => {
      if (r.url().endsWith('/privacy/consent')) responses.push(r.status());
    });
    await page.getByRole('button', { name: 'Refuse analytics' }).first().click();
    await page.waitForURL(`${app.url}/privacy`);
    expect(responses).toEqual([303]);
    expect(await cookieNames(context)).toContain('hf_consent');
    expect(await cookieNames(context)).not.toContain('hf_aid');
    // Decided: the server renders the page without the banner.
    await expect(page.getByRole('region', { name: 'Cookies on this site' }).isVisible()).resolves.toBe(false);
    await context.close();
  });

  it('takes a keyboard-only visitor through the banner, with visible focus', async () => {
    const { context, page } = await visit();
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'Accept analytics'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    }
    expect(focused).toBe('Accept analytics');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Refuse analytics');
    await page.keyboard.press('Enter');
    await page.getByText('Your choice is saved: analytics cookies are off.').waitFor();
    expect(
      await page.evaluate(
        async () => ((await (await fetch('/v1/consent')).json()) as { categories: string[] }).categories,
      ),
    ).toEqual(['essential']);
    await context.close();
  });

  it('signs a person in with their key (kept out of page storage), files a copy of their data and downloads it', async () => {
    const person = await newAccount(app.url);
    const { context, page } = await visit();
    await signInOnPage(page, person);
    // The key is nowhere the page keeps things, and the session cookie is out of the script's reach.
    expect(
      await page.evaluate(
        () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie,
      ),
    ).not.toContain(person.apiKey);
    expect(await page.evaluate(() => document.cookie)).not.toContain('hf_session');
    const session = (await context.cookies()).find((c) => c.name === 'hf_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.getByLabel('API key').inputValue()).toBe('');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'signed-in');

    // The session reaches the page's routes, never the rest of the API.
    expect(await page.evaluate(async () => (await fetch('/v1/me')).status)).toBe(200);
    expect(await page.evaluate(async () => (await fetch('/v1/usage')).status)).toBe(401);
    // A state-changing request without the CSRF token is refused.
    expect(
      await page.evaluate(
        async () =>
          (
            await fetch('/v1/privacy/requests', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{"kind":"access"}',
            })
          ).status,
      ),
    ).toBe(403);

    // Corrections at once.
    await page.getByLabel('Name', { exact: true }).fill('Amina W. Otieno');
    await page.getByRole('button', { name: 'Save corrections' }).click();
    await page.getByText('Corrections saved.').waitFor();

    await page.getByRole('button', { name: 'Request a copy of my data' }).click();
    // A button that posts the link (issue 30 item 7): the link itself only downloads when posted.
    const link = page.getByRole('button', { name: /^Download/ });
    await link.waitFor({ timeout: 60_000 });
    expect(await page.getByRole('row', { name: /A copy of my data/ }).textContent()).toContain('Done');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = join(mkdtempSync(join(tmpdir(), 'hf-download-')), download.suggestedFilename());
    await download.saveAs(file);
    expect(download.suggestedFilename()).toMatch(/^harakaflow-export-.+\.json$/);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as {
      parts: Record<string, unknown>;
      manifest: { parts: { name: string }[]; signature: string };
    };
    const names = bundle.manifest.parts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(EXPECTED_PARTS));
    expect(names.sort()).toEqual(Object.keys(bundle.parts).sort());
    expect(bundle.manifest.signature).toEqual(expect.any(String));
    expect(JSON.stringify(bundle.parts.app)).toContain('Amina W. Otieno');
    await context.close();
  });

  it('opens an export link as a page that changes nothing, however often it is fetched; its button downloads the data once', async () => {
    const person = await newAccount(app.url);
    const filed = await call(
      'POST',
      `${app.url}/v1/privacy/requests`,
      { kind: 'access' },
      { authorization: `Bearer ${person.apiKey}` },
    );
    expect(filed.status).toBe(202);
    const url = `${app.url}${(await call('GET', `${app.url}/v1/privacy/requests/${filed.json.id}`, undefined, { authorization: `Bearer ${person.apiKey}` })).json.export.url}`;
    // What a mail scanner, an unfurler or a prefetch does: HEAD and GET, again and again.
    for (const method of ['HEAD', 'GET', 'GET']) expect((await fetch(url, { method })).status).toBe(200);
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(url);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByRole('heading', { name: 'Your data export' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'export-link');
    await page.reload();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download my data (JSON)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^harakaflow-export-.+\.json$/);
    const file = join(mkdtempSync(join(tmpdir(), 'hf-download-')), download.suggestedFilename());
    await download.saveAs(file);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { manifest: { signature: string } }).manifest.signature).toEqual(
      expect.any(String),
    );
    // Used: the page says so, and offers the way to a new copy.
    await page.reload();
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
    await context.close();
  });

  it('works without JavaScript on the export link page: a plain form post downloads', async () => {
    const person = await newAccount(app.url);
    const filed = await call(
      'POST',
      `${app.url}/v1/privacy/requests`,
      { kind: 'portability' },
      { authorization: `Bearer ${person.apiKey}` },
    );
    const url = `${app.url}${(await call('GET', `${app.url}/v1/privacy/requests/${filed.json.id}`, undefined, { authorization: `Bearer ${person.apiKey}` })).json.export.url}`;
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(url);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download my data (zip)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^harakaflow-export-.+\.zip$/);
    await context.close();
  });

  it('restricts processing and lifts the restriction from the page', async () => {
    const person = await newAccount(app.url);
    const { context, page } = await visit();
    await signInOnPage(page, person);
    await page.getByRole('button', { name: 'Restrict processing' }).click();
    const lift = page.getByRole('button', { name: 'Lift restriction' });
    await lift.waitFor();
    const send = () =>
      call(
        'POST',
        `${app.url}/v1/messages`,
        { sessionId: 'wa-1', to: '+254711000009', text: 'hi' },
        { authorization: `Bearer ${person.apiKey}` },
      );
    expect((await send()).json.code).toBe('HF_DATA_RIGHTS_RESTRICTED');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'restricted');
    await lift.click();
    await page.getByText('The restriction is lifted').waitFor();
    expect(await page.getByRole('row', { name: /Restriction of processing/ }).textContent()).toContain('Lifted');
    await expect(page.getByRole('button', { name: 'Lift restriction' }).count()).resolves.toBe(0);
    expect((await send()).status).toBe(202);
    await context.close();
  });

  it('links a signed-out visitor to the public request form, where every right can be asked for without an account', async () => {
    const { context, page } = await visit();
    const link = page
      .getByRole('region', { name: 'Your data' })
      .getByRole('link', { name: 'Make a privacy request with your email address' });
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe('/privacy/request');
    // Checking a receipt needs no account either (an erased account's receipt arrives by email).
    await expect(page.getByRole('region', { name: 'Check a receipt' }).isVisible()).resolves.toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'signed-out');
    await link.click();
    await page.getByRole('heading', { name: 'Make a privacy request' }).waitFor();
    const kinds = await page.getByLabel('What do you ask for?').locator('option').allTextContents();
    expect(kinds).toEqual(expect.arrayContaining(['Object to a use of my data', 'Withdraw my consent']));
    await context.close();
  });

  it('files an objection naming a use; withdraws the analytics consent by keyboard: off here at once, withdrawn in the ledger for every browser the account chose in', async () => {
    const person = await newAccount(app.url);
    const bearer = { authorization: `Bearer ${person.apiKey}` };
    // Another browser where the person chose analytics while signed in (their API client, here).
    const elsewhere = await call('PUT', `${app.url}/v1/consent`, { analytics: true }, bearer);
    expect(elsewhere.status).toBe(200);
    const { context, page } = await visit();
    // This browser chose before signing in: its choice is in its cookie, not tied to the account.
    await page.getByRole('button', { name: 'Accept analytics' }).click();
    await page.getByText('Your choice is saved: analytics cookies are on.').waitFor();
    expect(await cookieNames(context)).toContain('hf_aid');
    const here = (await page.evaluate(async () => (await fetch('/v1/consent')).json())) as { consentId: string };
    await signInOnPage(page, person);

    // An objection: "something else" needs the person's words, then a §2 use with them.
    const purpose = page.getByLabel('Which use of your data do you object to?');
    await purpose.selectOption({ label: 'Something else (say what below)' });
    await page.getByRole('button', { name: 'Send my objection' }).click();
    await page.getByText('Say which use you object to in the box below.').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('objection-details');
    await purpose.selectOption({ label: 'Analyze aggregate usage patterns to improve features and performance' });
    await page.getByLabel('Why, or what else (needed for something else)').fill('I do not want my usage analysed');
    await page.getByRole('button', { name: 'Send my objection' }).click();
    await page.getByText('Your objection is received.').waitFor();
    const objection = page.getByRole('row', { name: /Objection/ });
    expect(await objection.textContent()).toContain(
      'Objection to this use: Analyze aggregate usage patterns to improve features and performance',
    );
    expect(await objection.textContent()).toContain('Received');
    expect(await page.getByRole('row').count()).toBe(2); // the header and the one objection: "something else" filed nothing

    // The withdrawal, keyboard only: the radio, then Tab past the details to the button.
    await page.getByLabel(/^Analytics cookies: off in this browser at once/).focus();
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Withdraw my consent');
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'objection-withdrawal');
    await page.keyboard.press('Enter');
    await page.getByText('Your consent to analytics cookies is withdrawn').waitFor();
    expect(await page.getByRole('row', { name: /Withdrawal of consent/ }).textContent()).toContain('Done');
    expect(await cookieNames(context)).not.toContain('hf_aid');
    await page.reload();
    await page.waitForLoadState('networkidle');
    expect(await cookieNames(context)).not.toContain('hf_aid');
    expect(
      await page.evaluate(
        async () => ((await (await fetch('/v1/consent')).json()) as { categories: string[] }).categories,
      ),
    ).toEqual(['essential']);

    // The ledger, as the person's own export shows it: both browsers' choices end withdrawn.
    const filed = await call('POST', `${app.url}/v1/privacy/requests`, { kind: 'access' }, bearer);
    const link = (await call('GET', `${app.url}/v1/privacy/requests/${filed.json.id}`, undefined, bearer)).json.export
      .url as string;
    const bundle = await call('POST', `${app.url}${link}`, undefined, { accept: 'application/json' });
    const records = bundle.json.parts.consent.records as { consentId: string; action: string }[];
    for (const id of [elsewhere.json.consentId as string, here.consentId]) {
      const of = records.filter((r) => r.consentId === id).map((r) => r.action);
      expect(of, id).toContain('withdraw');
      expect(of.at(-1), id).toBe('withdraw');
    }
    await context.close();
  });

  it('downloads an erasure receipt as its signed JSON and checks it in the page with the published keys; a changed one fails, signed in or not', async () => {
    const person = await newAccount(app.url);
    const bearer = { authorization: `Bearer ${person.apiKey}` };
    // A contact's deletion runs at once and stays in the account's list with its receipt.
    const filed = await call(
      'POST',
      `${app.url}/v1/privacy/requests`,
      { kind: 'deletion', contact: '+254711000042' },
      bearer,
    );
    expect(filed.status).toBe(202);
    let receipt: Record<string, unknown> & {
      keyId: string;
      requestId: string;
      subjectHash: string;
      handlers: { name: string; erased: number; kept: number }[];
    } = undefined as never;
    for (let i = 0; i < 200 && !receipt; i++) {
      receipt = (await call('GET', `${app.url}/v1/privacy/requests/${filed.json.id}`, undefined, bearer)).json.receipt;
      if (!receipt) await new Promise((r) => setTimeout(r, 100));
    }
    expect(receipt).toMatchObject({ requestId: filed.json.id, keyId: expect.any(String) });
    const kids = (
      (await call('GET', `${app.url}/.well-known/harakaflow-signing-keys.json`)).json.keys as { kid: string }[]
    ).map((k) => k.kid);
    expect(kids).toContain(receipt.keyId);

    const { context, page } = await visit();
    await signInOnPage(page, person);
    const row = page.getByRole('row', { name: /Deletion of a contact's data/ });
    await row.getByRole('button', { name: /^Check the receipt of/ }).click();
    await row.getByText(`Verified: signed with our key ${receipt.keyId}`).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('button', { name: /^Download the receipt of/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`harakaflow-receipt-${filed.json.id}.json`);
    const file = join(mkdtempSync(join(tmpdir(), 'hf-receipt-')), download.suggestedFilename());
    await download.saveAs(file);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(receipt);

    // The file, given back to the page.
    const check = page.getByRole('region', { name: 'Check a receipt' });
    const result = check.getByRole('status');
    await check.getByLabel('A receipt file (JSON)').setInputFiles(file);
    await check.getByRole('button', { name: 'Check receipt', exact: true }).click();
    await result.getByText(`Verified: signed with our key ${receipt.keyId}`).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'receipt-checked');
    // Changed after signing: one count, or the key it names.
    const paste = async (text: string) => {
      await check.getByLabel('Or paste the receipt').fill(text);
      await check.getByRole('button', { name: 'Check receipt', exact: true }).click();
      await page.waitForFunction(() => document.getElementById('check-result')?.textContent !== 'Checking…');
      return result.textContent();
    };
    const changed = {
      ...receipt,
      handlers: receipt.handlers.map((h, i) => (i === 0 ? { ...h, erased: h.erased + 1 } : h)),
    };
    expect(await paste(JSON.stringify(changed))).toBe(
      `Not verified: the signature does not match this receipt (key ${receipt.keyId}). It was changed after we signed it, or we did not sign it.`,
    );
    expect(await paste(JSON.stringify({ ...receipt, keyId: 'retired0' }))).toBe(
      'Not verified: key retired0 is not one of our published keys.',
    );
    const notReceipt =
      'Not verified: this is not a signed erasure receipt (a JSON document with requestId, subjectHash, completedAt, handlers, keyId and signature).';
    expect(await paste('{"hello": "world"}')).toBe(notReceipt);
    // A genuine receipt inside a wrapper that claims other counts is not taken for the receipt (review).
    expect(await paste(JSON.stringify({ receipt, handlers: [{ name: 'everything', erased: 999, kept: 0 }] }))).toBe(
      notReceipt,
    );
    // A verified receipt says what the signature covers: the request, the subject's hash, each part's counts.
    expect(await paste(JSON.stringify(receipt))).toContain(
      `What the signature covers: request ${receipt.requestId}, subject ${receipt.subjectHash}; ${receipt.handlers.map((h) => `${h.name}: ${h.erased} erased, ${h.kept} kept`).join('; ')}.`,
    );
    await context.close();

    // Signed out, as someone holding the email whose line carries the receipt: pasted as it is.
    const other = await visit();
    const region = other.page.getByRole('region', { name: 'Check a receipt' });
    await region
      .getByLabel('Or paste the receipt')
      .fill(
        `The signed erasure receipt, to check with our public keys (${app.url}/.well-known/harakaflow-signing-keys.json): ${JSON.stringify(receipt)}`,
      );
    await region.getByRole('button', { name: 'Check receipt', exact: true }).click();
    await region.getByRole('status').getByText(`Verified: signed with our key ${receipt.keyId}`).waitFor();
    await other.context.close();
  });

  it('deletes an account after typing its email: signed out, the key reaches only the privacy requests; signing in again shows the purge date and cancels it', async () => {
    const person = await newAccount(app.url);
    const { context, page } = await visit();
    await signInOnPage(page, person);
    // The wrong email deletes nothing.
    await page.getByLabel("Type your account's email to confirm").fill('someone.else@example.com');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByText('nothing was deleted').waitFor();
    await page.getByLabel("Type your account's email to confirm").fill(person.email);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByText('Deletion requested: you are signed out.').waitFor();
    await expect(page.getByRole('button', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    expect(await page.evaluate(async () => (await fetch('/v1/privacy/session')).status)).toBe(401);
    const me = await call('GET', `${app.url}/v1/me`, undefined, { authorization: `Bearer ${person.apiKey}` });
    expect(me.status).toBe(403);
    expect(me.json.code).toBe('HF_DATA_RIGHTS_PENDING_DELETION');

    await page.getByLabel('API key').fill(person.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/It will be deleted on \d+ \w+ \d{4}\./).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'pending-deletion');
    await page.getByRole('button', { name: 'Cancel deletion' }).click();
    await page.getByText('Canceled.').waitFor();
    expect(
      (await call('GET', `${app.url}/v1/me`, undefined, { authorization: `Bearer ${person.apiKey}` })).status,
    ).toBe(200);
    await context.close();
  });

  it('speaks Swahili to a sw-KE browser, switches to English and back (remembered), and works signed in, in Swahili', async () => {
    const person = await newAccount(app.url);
    const { context, page } = await visit({ locale: 'sw-KE' });
    // A CSP refusal (of the texts' data block, say) is a console error; a script error a page error.
    const errors: string[] = [];
    page.on(
      'console',
      (m) => void (m.type() === 'error' && /Content Security Policy/i.test(m.text()) && errors.push(m.text())),
    );
    page.on('pageerror', (e) => void errors.push(e.message));
    await page.reload();
    expect(await page.getAttribute('html', 'lang')).toBe('sw');
    await page.getByRole('heading', { level: 1, name: 'Kituo cha faragha' }).waitFor();
    await expect(page.getByRole('region', { name: 'Vidakuzi kwenye tovuti hii' }).isVisible()).resolves.toBe(true);
    // The script ran with its Swahili texts: it shows "Check a receipt", and answers a choice in Swahili.
    await page.getByRole('heading', { name: 'Kagua risiti' }).waitFor();
    await page.getByRole('button', { name: 'Kataa vidakuzi vya takwimu' }).click();
    await page.getByText('Uamuzi wako umehifadhiwa: vidakuzi vya takwimu vimezimwa.').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'swahili');

    // The switch: English, remembered in hf_lang over the browser's language; then back.
    await page.getByRole('navigation', { name: 'Lugha' }).getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Privacy centre' }).waitFor();
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.goto(`${app.url}/privacy`);
    await page.getByRole('heading', { level: 1, name: 'Privacy centre' }).waitFor();
    expect((await context.cookies()).find((c) => c.name === 'hf_lang')).toMatchObject({
      value: 'en',
      path: '/privacy',
      sameSite: 'Lax',
      httpOnly: true,
    });
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('navigation', { name: 'Language' }).getByRole('link', { name: 'Kiswahili' }).click();
    await page.getByRole('heading', { level: 1, name: 'Kituo cha faragha' }).waitFor();

    // Signed in, in Swahili: a restriction and an objection filed, dates in Swahili (sw-KE).
    await page.getByLabel('Ufunguo wa API').fill(person.apiKey);
    await page.getByRole('button', { name: 'Ingia', exact: true }).click();
    await page.getByText(`Umeingia kama ${person.email}`).waitFor();
    await page.getByRole('button', { name: 'Zuia uchakataji' }).click();
    await page
      .getByText(/^Ombi lako \(Kuzuia uchakataji\) limepokelewa\. Tutajibu kufikia \d+ \p{L}+ \d{4}\.$/u)
      .waitFor();
    const today = new Date().toLocaleDateString('sw-KE', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    });
    const row = page.getByRole('row', { name: /Kuzuia uchakataji/ });
    expect(await row.textContent()).toContain(today);
    expect(today).not.toMatch(/January|February|March|April|May|June|July|August|September|October|November|December/);
    await page
      .getByLabel('Unapinga matumizi gani ya data yako?')
      .selectOption({ label: 'Kuchanganua mienendo ya jumla ya matumizi ili kuboresha vipengele na utendaji' });
    await page.getByRole('button', { name: 'Tuma pingamizi langu' }).click();
    await page.getByText('Pingamizi lako limepokelewa.').waitFor();
    await page.getByRole('row', { name: /Pingamizi/ }).waitFor();
    // What it objects to, in Swahili too (the API's first line is English, for the privacy team).
    const objected = (await page.getByRole('row', { name: /Pingamizi/ }).textContent()) ?? '';
    expect(objected).toContain(
      'Pingamizi kuhusu matumizi haya: Kuchanganua mienendo ya jumla ya matumizi ili kuboresha vipengele na utendaji',
    );
    expect(objected).not.toContain('Objection to this use');
    expect(await page.getByRole('columnheader').allTextContents()).toEqual([
      'Ombi',
      'Hali',
      'Tarehe ya kupokelewa',
      'Tarehe ya mwisho',
      'Hatua',
    ]);
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'swahili-signed-in');
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe.skipIf(!hasChromium)('the privacy centre in production mode, over TLS', () => {
  let browser: Browser;
  let app: RunningApp;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-privacy-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=127.0.0.1',
        '-days',
        '1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    // Production needs every secret in the environment: a development instance makes them first.
    const dev = await startApp();
    await dev.stop();
    const secrets = devSecrets(dev.dataDir);
    browser = await launch();
    const port = await freePort();
    app = await startApp(
      {
        ...secrets,
        NODE_ENV: 'production',
        DATA_DIR: dev.dataDir,
        PORT: String(port),
        PUBLIC_URL: `https://127.0.0.1:${port}`,
        TLS_CERT_FILE: certFile,
        TLS_KEY_FILE: keyFile,
        DATA_RIGHTS_PURGE_AFTER_DAYS: '0',
        NOTIFY_TRANSPORT: 'eml',
      },
      'https',
    );
  }, 600_000); // a hang guard, not a measurement
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('sets __Host- cookies, Secure, with HSTS; a deletion purged at once makes the key answer 401', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const response = await page.goto(`${app.url}/privacy`);
    expect(response!.headers()['strict-transport-security']).toMatch(/max-age=\d+/);
    await page.getByRole('button', { name: 'Refuse analytics' }).click();
    await page.getByText('Your choice is saved: analytics cookies are off.').waitFor();
    const person = await newAccount(app.url);
    await signInOnPage(page, person);
    const cookies = await context.cookies();
    expect(cookies.map((c) => c.name)).toEqual(expect.arrayContaining(['__Host-hf_session']));
    for (const c of cookies) {
      expect(c.secure, c.name).toBe(true);
      if (c.name.startsWith('__Host-')) expect(c).toMatchObject({ path: '/', domain: '127.0.0.1' });
    }
    expect(cookies.find((c) => c.name === '__Host-hf_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await shot(page, 'production-signed-in');

    await page.getByLabel("Type your account's email to confirm").fill(person.email);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByText('Deletion requested: you are signed out.').waitFor();
    let status = 0;
    for (let i = 0; i < 100 && status !== 401; i++) {
      status = (await call('GET', `${app.url}/v1/me`, undefined, { authorization: `Bearer ${person.apiKey}` })).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(401);
    await context.close();
  });
});

describe.skipIf(!hasChromium)('the privacy centre and policy versions (§11)', () => {
  let browser: Browser;
  let database: TestDatabase;
  const apps: FastifyInstance[] = [];
  beforeAll(async () => {
    [browser, database] = await Promise.all([launch(), testDatabase()]);
  }, 600_000); // a hang guard, not a measurement
  afterAll(async () => {
    await browser?.close();
    for (const a of apps) await a.close();
    await database?.close();
  });
  const DAY = 86_400_000;
  const iso = (t: number) => new Date(t).toISOString();
  async function serve(
    policyVersions: { version: string; publishedAt: string; effectiveAt: string; material: boolean }[],
  ) {
    const { app } = await testApp(database, { policyVersions });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }

  it('announces an upcoming material version with its effective date, and asks again once it is in force', async () => {
    const base = [
      {
        version: '2025-01-01',
        publishedAt: '2025-01-01T00:00:00Z',
        effectiveAt: '2025-01-01T00:00:00Z',
        material: true,
      },
    ];
    const now = Date.now();
    const upcoming = await serve([
      ...base,
      { version: 'next', publishedAt: iso(now - DAY), effectiveAt: iso(now + 20 * DAY), material: true },
    ]);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${upcoming}/privacy`);
    const date = new Date(now + 20 * DAY).toLocaleDateString('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    });
    await page.getByText(`Our privacy policy changes on ${date}`).waitFor();
    await page.getByRole('button', { name: 'Refuse analytics' }).click();
    await page.getByText('Your choice is saved').waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    // The same visitor (same cookie jar), once a material version decided after their choice is in force.
    const inForce = await serve([
      ...base,
      { version: 'now', publishedAt: iso(now - 20 * DAY), effectiveAt: iso(now - 60_000), material: true },
    ]);
    const cookies = await context.cookies(upcoming);
    await context.addCookies(cookies.map((c) => ({ ...c, domain: undefined, path: undefined, url: inForce })));
    await page.goto(`${inForce}/privacy`);
    await page.getByText('Our privacy policy has changed: please make your choice again.').waitFor();
    await expect(page.getByRole('region', { name: 'Cookies on this site' }).isVisible()).resolves.toBe(true);
    await shot(page, 'reacceptance');
    await context.close();
  });
});
