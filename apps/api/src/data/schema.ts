// The app's Drizzle schema: every table, re-exported from its area's module.
export * from './schema-app.js';
export * from './schema-accounts.js';
export * from './schema-messages.js';
export * from './schema-contact-requests.js';
export * from './schema-audit-streams.js';
