import { customType, index, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** bytea: postgres.js gives a Buffer, PGlite a Uint8Array; both come back as a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

export const vaultSchema = pgSchema('vault');

/** Encrypted records: only ciphertext (the envelope format) and the KEK id, never plaintext. */
export const secrets = vaultSchema.table(
  'secrets',
  {
    id: uuid('id').primaryKey(),
    // Issue 12: each consumer of the vault has its own namespace (constant default: no rewrite).
    namespace: text('namespace').notNull().default('whatsapp'),
    accountId: text('account_id').notNull(),
    sessionId: text('session_id').notNull(),
    name: text('name').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    kekId: text('kek_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // Unique on (account, session, name), namespace or not: the earlier version upserts on this
    // index, so it stays while replicas of it may run (a rolling upgrade), and one unique index is
    // what keeps concurrent upserts free of unique violations (with two, ON CONFLICT arbitrates on
    // one and a race on the other raises 23505). A later migration, once no earlier replica runs,
    // replaces it with one on (account, namespace, session, name).
    uniqueIndex('secrets_place_key').on(t.accountId, t.sessionId, t.name),
    index('secrets_kek_idx').on(t.kekId),
  ],
);
