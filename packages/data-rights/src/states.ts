import type { RequestStatus } from './types.js';

/**
 * The transitions a request may make. `fulfilled`, `denied`, `canceled` and `expired` are final:
 * nothing leaves them (no `fulfilled` → `open`).
 */
const TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  open: ['in_progress', 'fulfilled', 'denied', 'canceled', 'expired'],
  in_progress: ['fulfilled', 'denied', 'canceled'],
  fulfilled: [],
  denied: [],
  canceled: [],
  expired: [],
};

export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

export function isFinal(status: RequestStatus): boolean {
  return TRANSITIONS[status]?.length === 0;
}
