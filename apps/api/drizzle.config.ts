import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // The tables' modules (schema.ts only re-exports them).
  schema: [
    './src/data/schema-app.ts',
    './src/data/schema-accounts.ts',
    './src/data/schema-messages.ts',
    './src/data/schema-contact-requests.ts',
    './src/data/schema-audit-streams.ts',
  ],
  out: './drizzle',
  schemaFilter: ['app'],
});
