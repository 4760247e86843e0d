/**
 * Witnesses of the audit log (issue 33 item 3): HTTPS endpoints the operator registers, to which
 * the log's signed tree heads are delivered through the webhook outbox (Standard Webhooks
 * signatures, retries, the delivery log), so a copy of each head lives outside the database. A
 * witness keeps the heads it receives; `hf-audit verify --public-key FILE --witness HEAD` then
 * refuses a log that no longer extends one of them.
 */
import { errorCodes } from '@harakaflow/core';
import type { FastifyInstance } from 'fastify';

/** The webhook owner of the witnesses' endpoints: not an account id (those are UUIDs), so no account ever sees them. */
export const WITNESS_OWNER = 'harakaflow:audit-witnesses';
/**
 * The event type witnesses receive: `{ treeSize, rootHash, checkpoint }` (the signed note as GET /v1/audit/checkpoint
 * serves it).
 */
export const WITNESS_EVENT = 'audit.checkpoint';
/**
 * Heads are signed every 10 s under load; witnesses get at most one a minute from each replica, and always the latest.
 */
export const WITNESS_EVERY_MS = 60_000;

/** What a witness receives: the checkpoint, and its size and root read from it. */
export function witnessData(note: string): { treeSize: number; rootHash: string; checkpoint: string } {
  const [, size, root] = note.split('\n');
  return { treeSize: Number(size), rootHash: root ?? '', checkpoint: note };
}

export interface SignedHead {
  size: number;
  root: Buffer;
  note: string;
}

/**
 * The audit plugin's `onTreeHead`: queues the head for every witness, at most once per `everyMs`;
 * a head that comes sooner waits, and is replaced by a newer one, until then (the last is never lost
 * while the process runs).
 */
export function witnessPublisher(
  app: FastifyInstance,
  everyMs = WITNESS_EVERY_MS,
): { publish(head: SignedHead): Promise<void> } {
  let last = 0;
  let waiting: SignedHead | null = null;
  let timer: NodeJS.Timeout | null = null;
  const send = async (head: SignedHead) => {
    last = Date.now();
    await app.webhooks.emit(WITNESS_OWNER, WITNESS_EVENT, witnessData(head.note));
  };
  return {
    async publish(head) {
      if (Date.now() - last >= everyMs && !timer) return send(head);
      waiting = head;
      timer ??= setTimeout(
        () => {
          timer = null;
          const next = waiting;
          waiting = null;
          if (next)
            send(next).catch((error: unknown) =>
              app.log.error(
                { err: errorCodes(error) },
                'audit: a tree head was not queued for the witnesses; the next one will be',
              ),
            );
        },
        Math.max(0, everyMs - (Date.now() - last)),
      ).unref();
    },
  };
}
