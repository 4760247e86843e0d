// The soak's traffic: a mix of requests (ping, account reads, messages with idempotency keys sent
// again to the other replica, consent, credential reads) to the replicas that are up, each answer
// kept as a sample for the checks.
import { randomUUID } from 'node:crypto';
import { base, type Replica } from './soak-replicas.js';

export type Kind = 'ping' | 'me' | 'message' | 'message-again' | 'consent' | 'credential';
export interface Sample {
  kind: Kind;
  replica: string;
  at: number;
  ms: number;
  status: number;
  requestId: string | null;
  key?: string;
  account?: string;
  messageId?: string;
}

interface Account {
  id: string;
  apiKey: string;
}

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

export class Traffic {
  readonly samples: Sample[] = [];
  readonly accounts: Account[] = [];

  constructor(
    private readonly replicas: readonly Replica[],
    private readonly now: () => number,
  ) {}

  private other(r: Replica): Replica {
    return this.replicas.find((x) => x !== r && x.up) ?? r;
  }

  async call(
    r: Replica,
    kind: Kind,
    path: string,
    init: RequestInit = {},
    extra: Partial<Sample> = {},
  ): Promise<Sample> {
    const at = this.now();
    const started = performance.now();
    let status = 0;
    let requestId: string | null = null;
    let body: unknown = null;
    try {
      const res = await fetch(base(r) + path, { ...init, signal: AbortSignal.timeout(5000) });
      status = res.status;
      requestId = res.headers.get('x-request-id');
      body = await res.json().catch(() => null);
    } catch {
      status = 0; // refused, reset or timed out
    }
    const sample: Sample = { kind, replica: r.name, at, ms: performance.now() - started, status, requestId, ...extra };
    if (kind.startsWith('message') && status === 202)
      sample.messageId = (body as { messageId?: string } | null)?.messageId;
    this.samples.push(sample);
    return sample;
  }

  /** Accounts spread over the replicas, each with a stored WhatsApp credential to read. */
  async createAccounts(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const r = this.replicas[i % this.replicas.length]!;
      const res = await fetch(`${base(r)}/v1/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: `Soak ${i}`,
          email: `soak-${i}-${process.pid}@example.com`,
          dateOfBirth: '1990-01-01',
        }),
      });
      if (res.status !== 201) throw new Error(`account not created: ${res.status}`);
      const created = (await res.json()) as { account: { id: string }; apiKey: string };
      this.accounts.push({ id: created.account.id, apiKey: created.apiKey });
      const put = await fetch(`${base(r)}/v1/whatsapp/sessions/soak/credentials/creds`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${created.apiKey}` },
        body: JSON.stringify({ value: { noiseKey: 'soak' } }),
      });
      if (put.status !== 200) throw new Error(`credential not stored: ${put.status}`);
    }
  }

  /** One request of the mix, to a replica that is up. */
  fire(): void {
    const candidates = this.replicas.filter((r) => r.up);
    if (!candidates.length) return;
    const r = pick(candidates);
    const account = pick(this.accounts);
    const auth = { authorization: `Bearer ${account.apiKey}` };
    const roll = Math.random();
    if (roll < 0.35) void this.call(r, 'ping', '/v1/ping');
    else if (roll < 0.55) void this.call(r, 'me', '/v1/me', { headers: auth });
    else if (roll < 0.75) {
      const key = randomUUID();
      const init = {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ sessionId: 'soak', to: '+254700000001', text: `hello ${key}` }),
      };
      const first = this.call(r, 'message', '/v1/messages', init, { key, account: account.id });
      // A client retrying: a quarter of the keys again on the other replica, half of those at once.
      if (Math.random() < 0.25) {
        if (Math.random() < 0.5)
          void this.call(this.other(r), 'message-again', '/v1/messages', init, { key, account: account.id });
        else
          void first.then(() =>
            this.call(this.other(r), 'message-again', '/v1/messages', init, { key, account: account.id }),
          );
      }
    } else if (roll < 0.85) {
      void this.call(r, 'consent', '/v1/consent', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ analytics: Math.random() < 0.5 }),
      });
    } else void this.call(r, 'credential', '/v1/whatsapp/sessions/soak/credentials/creds', { headers: auth });
  }
}
