/**
 * What a request's consent is, from its signed decision, its GPC signal and the policy in force.
 * Pure: no I/O, no Fastify. The plugin carries out the side effects this returns (issue a cookie,
 * append to the ledger).
 */
import type { ConsentDecision, DecisionSource } from './codec.js';
import { needsReacceptance, type PolicyStatus, type UpcomingPolicy } from './policy.js';

export type StateSource = 'default' | DecisionSource;

export interface ConsentSettings {
  /** Every non-essential category (analytics first). */
  nonEssential: readonly string[];
  /** Non-essential categories granted when nobody decided (`defaultAnalytics: 'granted'`). */
  defaults: readonly string[];
  /** Honour `Sec-GPC: 1`. */
  gpc: boolean;
}

/** `request.consent`. */
export class ConsentState {
  readonly consentId: string | null;
  /** Granted categories, `essential` always first. */
  readonly categories: readonly string[];
  readonly source: StateSource;
  readonly policyVersion: string;
  /** ISO time of the decision, null when none was made. */
  readonly decidedAt: string | null;
  /**
   * A material policy change came into force after the decision: only essential cookies until the person decides again.
   */
  readonly needsReacceptance: boolean;
  /** A published version not yet in force: show the notice. */
  readonly upcomingPolicy: UpcomingPolicy | null;
  readonly #granted: ReadonlySet<string>;

  constructor(data: {
    consentId: string | null;
    granted: readonly string[];
    source: StateSource;
    policyVersion: string;
    decidedAt: number | null;
    needsReacceptance: boolean;
    upcomingPolicy: UpcomingPolicy | null;
  }) {
    this.consentId = data.consentId;
    this.categories = ['essential', ...data.granted];
    this.source = data.source;
    this.policyVersion = data.policyVersion;
    this.decidedAt = data.decidedAt === null ? null : new Date(data.decidedAt * 1000).toISOString();
    this.needsReacceptance = data.needsReacceptance;
    this.upcomingPolicy = data.upcomingPolicy;
    this.#granted = new Set(this.categories);
  }

  /** May a cookie of this category be set? `essential` always may. */
  allows(category: string): boolean {
    return this.#granted.has(category);
  }

  toJSON() {
    return {
      consentId: this.consentId,
      categories: this.categories,
      source: this.source,
      policyVersion: this.policyVersion,
      decidedAt: this.decidedAt,
      needsReacceptance: this.needsReacceptance,
      upcomingPolicy: this.upcomingPolicy,
    };
  }
}

export interface Evaluation {
  state: ConsentState;
  /** The valid decision the request carried, if any. */
  decision: ConsentDecision | null;
  /** GPC overrode a grant (by default or by an earlier decision): record it and issue a GPC cookie. */
  gpcDecides: boolean;
  /** An authenticated subject uses the service after a material change: record acceptance (once). */
  continuedUseOf: string | null;
}

export function evaluate(
  input: { decision: ConsentDecision | null; gpc: boolean; status: PolicyStatus; subject: string | undefined },
  settings: ConsentSettings,
): Evaluation {
  const { decision, status, subject } = input;
  const gpc = input.gpc && settings.gpc;
  let granted: string[];
  let source: StateSource;
  let reaccept = false;

  if (decision) {
    reaccept = needsReacceptance(decision.version, status);
    granted = reaccept ? [] : settings.nonEssential.filter((c) => decision.categories.includes(c));
    source = decision.source;
  } else {
    granted = [...settings.defaults];
    source = 'default';
  }

  // GPC denies every non-essential category unless the person explicitly granted after the signal
  // was seen (a user decision carrying the GPC mark).
  let gpcDecides = false;
  if (gpc && !(decision?.source === 'user' && decision.gpc)) {
    // Worth recording only when the signal overrides a grant not already recorded as overridden.
    gpcDecides = granted.length > 0 && decision?.source !== 'gpc';
    if (gpcDecides || !decision) source = 'gpc';
    granted = [];
  }

  let continuedUseOf: string | null = null;
  const material = status.latestMaterial;
  if (subject && material && (!decision || reaccept)) {
    continuedUseOf = material.version;
    if (!gpcDecides) source = 'continued-use';
  }

  return {
    decision,
    gpcDecides,
    continuedUseOf,
    state: new ConsentState({
      consentId: decision?.id ?? null,
      granted,
      source,
      policyVersion: continuedUseOf ?? decision?.version ?? status.current.version,
      decidedAt: decision?.decidedAt ?? null,
      needsReacceptance: reaccept,
      upcomingPolicy: status.upcoming,
    }),
  };
}
