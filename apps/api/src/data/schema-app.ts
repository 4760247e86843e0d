// The Postgres schema `app` that holds every table of the app.
import { pgSchema } from 'drizzle-orm/pg-core';

/** The app's own tables live in schema `app` (ARCHITECTURE.md, contract item 4). */
export const app = pgSchema('app');
