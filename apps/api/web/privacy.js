// @ts-check
// The privacy centre's script (issue 17): a plain module, no framework, no third-party request.
// Everything goes through the API's own routes: the consent routes (so the ledger records each
// choice) and the data-rights routes, with the session cookie and its CSRF token. The API key is
// read from the form once, sent to POST /v1/privacy/session and dropped: never stored.
// The page's parts are the modules beside this one (privacy-*.js, served from /privacy/assets/ too).
import { deleteAccount, loadSession, saveProfile, signIn, signOut } from './privacy-account.js';
import { $ } from './privacy-common.js';
import { decide, loadConsent, withdraw } from './privacy-consent.js';
import { object, withdrawConsent } from './privacy-objections.js';
import { checkGiven } from './privacy-receipts.js';
import { file } from './privacy-requests.js';
// --- wiring ----------------------------------------------------------------------------------

for (const button of document.querySelectorAll('#banner [data-choice]')) {
  button.addEventListener('click', (event) => {
    event.preventDefault();
    void decide(/** @type {HTMLElement} */ (button).dataset.choice === 'granted');
  });
}
$('signin-form').addEventListener('submit', (e) => void signIn(/** @type {SubmitEvent} */ (e)));
$('signout').addEventListener('click', () => void signOut());
$('profile-form').addEventListener('submit', (e) => void saveProfile(/** @type {SubmitEvent} */ (e)));
$('delete-form').addEventListener('submit', (e) => void deleteAccount(/** @type {SubmitEvent} */ (e)));
$('objection-form').addEventListener('submit', (e) => void object(/** @type {SubmitEvent} */ (e)));
$('withdrawal-form').addEventListener('submit', (e) => void withdrawConsent(/** @type {SubmitEvent} */ (e)));
$('check-form').addEventListener('submit', (e) => void checkGiven(/** @type {SubmitEvent} */ (e)));
// Checking a receipt needs this script (WebCrypto): shown to everyone once it runs, signed in or not.
$('check').hidden = false;
for (const button of document.querySelectorAll('#rights [data-kind]')) {
  button.addEventListener(
    'click',
    () => void file(/** @type {string} */ (/** @type {HTMLElement} */ (button).dataset.kind)),
  );
}
$('open-preferences').addEventListener('click', () => {
  $('preferences').hidden = false;
  $('pref-analytics').focus();
});
$('preferences-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void decide(/** @type {HTMLInputElement} */ ($('pref-analytics')).checked);
});
$('withdraw').addEventListener('click', () => void withdraw());
$('account-title').tabIndex = -1;

void loadConsent().then(loadSession);
