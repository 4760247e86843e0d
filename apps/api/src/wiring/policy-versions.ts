import type { PolicyVersionInput } from '@harakaflow/consent';

/**
 * The versions of the HarakaFlow privacy policy (shared/privacy-policy.txt): "Effective date:
 * January 1, 2025 · Last updated: April 20, 2026". A material change is added here with its
 * publication date and an effective date at least 14 days later (§11); registration refuses less.
 */
export const POLICY_VERSIONS: PolicyVersionInput[] = [
  { version: '2025-01-01', publishedAt: '2025-01-01T00:00:00Z', effectiveAt: '2025-01-01T00:00:00Z', material: true },
  { version: '2026-04-20', publishedAt: '2026-04-20T00:00:00Z', effectiveAt: '2026-04-20T00:00:00Z', material: false },
];

/** Date of the GPC support statement in /.well-known/gpc.json. */
export const GPC_LAST_UPDATE = '2026-04-20';
