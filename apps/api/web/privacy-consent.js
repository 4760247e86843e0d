// @ts-check
// The privacy centre's consent: the banner's state read, a choice made or withdrawn, the page view counted under it.
import { $, api, codeOf, day, say, t } from './privacy-common.js';

export async function loadConsent() {
  const { json: state } = await api('GET', '/v1/consent');
  if (!state) return;
  const decided = state.source === 'user' && !state.needsReacceptance;
  $('banner').hidden = decided;
  $('gpc-notice').hidden = state.source !== 'gpc' && !(/** @type {any} */ (navigator).globalPrivacyControl === true);
  $('reaccept-notice').hidden = !state.needsReacceptance;
  /** @type {HTMLInputElement} */ ($('pref-analytics')).checked = state.categories.includes('analytics');
  const upcoming = state.upcomingPolicy;
  if (upcoming && upcoming.material) {
    $('policy-notice').hidden = false;
    $('policy-notice').textContent = t('policyChanges', { date: day(upcoming.effectiveAt), version: upcoming.version });
  }
}

/** @param {boolean} analytics */
export async function decide(analytics) {
  const res = await api('PUT', '/v1/consent', { analytics });
  if (res.status !== 200) return say(t('choiceFailed', { code: codeOf(res) }));
  await counted();
  say(analytics ? t('analyticsOn') : t('analyticsOff'));
}

/** The page view, counted under the choice just made (HEAD /privacy sets the analytics cookie only when it is allowed). */
export async function counted() {
  await fetch('/privacy', { method: 'HEAD', credentials: 'same-origin' });
  await loadConsent();
}

export async function withdraw() {
  const res = await api('DELETE', '/v1/consent');
  if (res.status !== 200) return say(t('withdrawFailed', { code: codeOf(res) }));
  await counted();
  say(t('withdrawn'));
}
