/**
 * The app's environment variables as one declarative table (issue 19 item 4): each entry names its
 * variable, the default and meaning the README's configuration table shows, and how it is read
 * and checked; an entry with a `key` sets that config field by itself. readConfig (config.ts)
 * reads the table, then puts together the few values several variables make (TLS, DKIM, the
 * public URL); the README's table is rendered from it (`configTable`, docs.ts, checked by a test), and the
 * tests' defaults are the table's. A new variable is one entry in its area's
 * file (variables-<area>.ts), made with `variable()` when it has a key.
 */
import { AUDIT_VARIABLES } from './variables-audit.js';
import { DATABASE_VARIABLES } from './variables-database.js';
import { NOTIFY_VARIABLES } from './variables-notify.js';
import { PRIVACY_VARIABLES } from './variables-privacy.js';
import { QUOTA_VARIABLES } from './variables-quota.js';
import { RETENTION_VARIABLES } from './variables-retention.js';
import { RIGHTS_VARIABLES } from './variables-rights.js';
import { EDGE_VARIABLES, SERVER_VARIABLES } from './variables-server.js';
import { WEBHOOKS_VARIABLES } from './variables-webhooks.js';
import type { EnvVariable } from './types.js';

export type { EnvVariable } from './types.js';

/** Every variable, in the order the README's table and `.env.example` list them (tests compare both). */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  ...SERVER_VARIABLES,
  ...DATABASE_VARIABLES,
  ...EDGE_VARIABLES,
  ...AUDIT_VARIABLES,
  ...QUOTA_VARIABLES,
  ...WEBHOOKS_VARIABLES,
  ...RIGHTS_VARIABLES,
  ...NOTIFY_VARIABLES,
  ...PRIVACY_VARIABLES,
  ...RETENTION_VARIABLES,
];
