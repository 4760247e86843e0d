// The processor register's entries: a provider, its transfer safeguard, and a change it makes on a day.

/** How personal data may leave Kenya and the EEA to this provider (§9). */
export type TransferMechanism = 'none' | 'adequacy' | 'scc' | 'dpf';

export interface Subprocessor {
  /** Stable identifier (lower-case letters, digits and -): the key of its change notices. */
  id: string;
  name: string;
  purpose: string;
  /** What of a person's data it receives (non-empty). */
  dataCategories: string[];
  /** Where it processes the data: a country or region, as people say it. */
  location: string;
  /**
   * `none`: the data stays where it was collected (no transfer); `adequacy`: an adequacy decision
   * covers the destination; `scc`: Standard Contractual Clauses (2021/914), with their module (1 to
   * 4); `dpf`: the EU-U.S. Data Privacy Framework (the provider is certified).
   */
  transfer: { mechanism: TransferMechanism; sccModule?: 1 | 2 | 3 | 4 | undefined; note?: string | undefined };
  /** The contract or data processing terms (https). */
  contractUrl: string;
  /** Day it starts (YYYY-MM-DD, UTC). */
  since: string;
  /** Day it stops (YYYY-MM-DD, UTC, after `since`); unset while it stays. */
  until?: string | undefined;
}

/** A provider that starts or stops on a day: what is announced (once per account) before it takes effect. */
export interface RegisterChange {
  /** `<provider id>:added:<day>` or `<provider id>:removed:<day>`: the notice's key. */
  key: string;
  change: 'added' | 'removed';
  effectiveDate: string;
  provider: Subprocessor;
}
