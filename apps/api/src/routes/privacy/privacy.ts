// The rights requests' routes, registered in their order: the account's requests, its profile, the signing keys, the
// admin's queue.
import type { Database } from '@harakaflow/db';
import type { Routes } from '../../http/schema-types.js';
import accountRequestRoutes from './account-requests.js';
import adminRequestRoutes from './admin-requests.js';
import profileRoutes from './profile.js';
import signingKeyRoutes from './signing-keys.js';

export { requestSchema } from './request-schemas.js';

/**
 * The rights of policy §6 (issue 14): an account files requests for itself or for one of its
 * contacts, follows them, cancels them, downloads its export once; it corrects its profile at
 * once. The admin files requests sent by email to privacy@ and answers the queue.
 */
const privacyRoutes: Routes<{ db: Database; session?: { cookieName: string; secure: boolean } }> = async (
  app,
  { db, session },
) => {
  await app.register(accountRequestRoutes, { session });
  await app.register(profileRoutes, { db });
  await app.register(signingKeyRoutes);
  await app.register(adminRequestRoutes);
};

export default privacyRoutes;
