-- The grants of the least-privilege role that DATABASE_URL connects as, when MIGRATION_DATABASE_URL
-- (the role that owns the tables) runs the migrations. Run it as that owner after the app's first
-- start, and again after an upgrade that adds tables:
--
--   psql "$MIGRATION_DATABASE_URL" -v ON_ERROR_STOP=1 -v app_role=harakaflow_app -f apps/api/sql/least-privilege.sql
--
-- The role reads and writes rows; it never owns, alters or truncates a table. The consent ledger
-- is append-only for it: INSERT and SELECT, erasure only through consent.erase_subject and
-- consent.purge_ledger.
GRANT USAGE ON SCHEMA app, audit, consent, quota, vault, age_gate, webhooks, data_rights, notify, retention TO :"app_role";

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app, quota, vault, age_gate, webhooks, data_rights, notify, retention TO :"app_role";
-- Legal holds are placed and released (released_at set), never deleted: the audit log's functions
-- read them, and a copy goes only once its hold's release is a chained event.
REVOKE DELETE, TRUNCATE ON retention.holds FROM :"app_role";

-- The audit log: appended, checkpoints upserted, personal fields erased (UPDATE); rows never deleted.
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA audit TO :"app_role";
REVOKE DELETE, TRUNCATE ON ALL TABLES IN SCHEMA audit FROM :"app_role";
-- Copies of legally held subjects' events, the released copies' ids and hashes, and each dropped
-- day's record of them (issue 30 item 1): read-only to the role. Only the functions below write
-- them, reading the holds themselves; the role may sign a day's record (its `mac`, which needs the
-- checkpoint key to be valid) and nothing else. (Rerun this file once no replica of the version
-- before issue 30 runs: that version erased held copies with UPDATE.)
REVOKE INSERT, UPDATE ON audit.held_events, audit.held_released, audit.held_days FROM :"app_role";
GRANT UPDATE (mac) ON audit.held_days TO :"app_role";
-- Its day partitions: created ahead by the writer, and days past RETENTION_SERVER_LOG_DAYS
-- dropped by the retention runner, only through these functions (owned by the migrating role;
-- none reaches a day of the last week, none takes the held subjects or a date from the caller).
GRANT EXECUTE ON FUNCTION audit.ensure_day_partitions(date, date, text), audit.drop_day_partition(date),
  audit.purge_days_before(date, integer), audit.releasable_held_copies(text), audit.release_held_copies(uuid, uuid[]) TO :"app_role";
-- The previous version's signatures, kept for one release (their held-subject list and date are
-- ignored; release_held_events releases nothing).
GRANT EXECUTE ON FUNCTION audit.drop_day_partition(date, text[]), audit.purge_days_before(date, text[], integer),
  audit.release_held_events(date, text[]) TO :"app_role";
-- Chain format 3 (issue 29): interned user agents, routes and writer names are inserted (and a user
-- agent's last_seen updated) by the grants above, as are the reference counts of user agents
-- (audit.user_agent_refs: raised by each batch, lowered by erasure); their identity sequences by
-- the last line. A user agent nothing references any more is deleted only through this function,
-- which server-log retention calls. Batches are written by COPY, which needs INSERT only; a retry
-- or a replay copies into a temporary table first, which needs the TEMPORARY privilege on the
-- database (PUBLIC has it by default; if it was revoked: GRANT TEMPORARY ON DATABASE <db> TO the role).
GRANT EXECUTE ON FUNCTION audit.purge_user_agents() TO :"app_role";
-- Tombstones of erased subjects (issue 30 item 5): the erasure writes them through
-- audit.add_subject_tombstones and every writer reads them through audit.tombstones_for (both
-- callable by PUBLIC, using the grants above); late_erasures keeps the erasure records of events
-- written erased (inserted, read, never updated). Both are purged only through this function,
-- which keeps at least 8 days whatever it is given.
REVOKE UPDATE ON audit.late_erasures FROM :"app_role";
GRANT EXECUTE ON FUNCTION audit.purge_subject_tombstones(integer) TO :"app_role";

-- The consent ledger: proof of consent, appended and never rewritten.
GRANT SELECT, INSERT ON consent.records TO :"app_role";
REVOKE UPDATE, DELETE, TRUNCATE ON consent.records FROM :"app_role";
GRANT EXECUTE ON FUNCTION consent.erase_subject(text) TO :"app_role";
-- Issue 30 item 4: the consent_ledger retention class erases a row's IP and user agent after 90
-- days and deletes decisions past their proof period, only through this function (its periods are
-- fixed inside; the role can pass earlier cutoffs, never later ones).
GRANT EXECUTE ON FUNCTION consent.purge_ledger(timestamptz, timestamptz, text[], integer, boolean) TO :"app_role";

GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA app, audit, consent, quota, vault, age_gate, webhooks, data_rights, notify, retention TO :"app_role";
