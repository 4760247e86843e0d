-- Issue 30 item 4: the ledger kept every visitor's IP and user agent forever. Retention class
-- `consent_ledger` (registered by the plugin, run by @harakaflow/retention):
--   * a row's ip and user_agent are erased 90 days after it was written (§4, server logs: "up to
--     90 days"), whatever the row;
--   * a decision itself (the row) is kept while it is its browser's current choice (the newest row
--     of its consent_id, and its cookie can still be alive: 400 days, the most `maxAgeDays`
--     allows) and 3 years after it stopped being that; an account's acceptance by continued use
--     (consent_id `subject:<id>`, no cookie) is current until a newer row of the same id;
--   * rows of a subject under a legal hold stay as they are.
-- The periods are constants of consent.purge_ledger, not arguments: the caller (the app's
-- least-privilege role) may pass earlier cutoffs, never later ones, so it cannot erase a young
-- IP or a decision still needed as proof by choosing its own dates. The append-only trigger lets
-- exactly this through: from this function only, an UPDATE that sets ip and user_agent to null
-- and changes nothing else, and a DELETE. consent.erase_subject(text) is unchanged, so replicas of
-- the previous version keep erasing during a rolling deploy (they never call purge_ledger).

-- Rows whose IP or user agent is still there, by age: what each purge batch looks for. On a large
-- ledger, build it beforehand with CREATE INDEX CONCURRENTLY under this name: this then skips it
-- instead of holding writes while it builds.
CREATE INDEX IF NOT EXISTS "records_personal_created_idx" ON "consent"."records" USING btree ("created_at") WHERE ip IS NOT NULL OR user_agent IS NOT NULL;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "consent"."records_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  stack text;
BEGIN
  GET DIAGNOSTICS stack = PG_CONTEXT;
  -- The outermost frame of the call stack must be the function itself (see drizzle/0002): a DO
  -- block, another function or a statement quoting the frame's text does not pass.
  IF TG_OP = 'DELETE' THEN
    IF stack ~ '\nPL/pgSQL function consent\.erase_subject\(text\) line [0-9]+ at SQL statement$'
      OR stack ~ '\nPL/pgSQL function consent\.purge_ledger\(timestamp with time zone,timestamp with time zone,text\[\],integer,boolean\) line [0-9]+ at SQL statement$' THEN
      RETURN OLD;
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF stack ~ '\nPL/pgSQL function consent\.purge_ledger\(timestamp with time zone,timestamp with time zone,text\[\],integer,boolean\) line [0-9]+ at SQL statement$'
      AND NEW.ip IS NULL AND NEW.user_agent IS NULL
      AND (NEW.id, NEW.consent_id, NEW.subject_id, NEW.action, NEW.source, NEW.policy_version, NEW.categories, NEW.created_at)
        IS NOT DISTINCT FROM (OLD.id, OLD.consent_id, OLD.subject_id, OLD.action, OLD.source, OLD.policy_version, OLD.categories, OLD.created_at) THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'consent.records is append-only (% refused; erasure goes through consent.erase_subject and consent.purge_ledger)', TG_OP USING ERRCODE = '42501';
END
$$;
--> statement-breakpoint
-- One retention batch: at most max_rows rows changed (IPs and user agents erased first, then
-- decisions past their proof period deleted), or, with dry_run, how many would be. ip_before and
-- proof_before are clamped to the periods above (now() - 90 days, now() - 3 years): a later date
-- is ignored. held: subjects under a legal hold, whose rows are left alone.
CREATE OR REPLACE FUNCTION "consent"."purge_ledger"(ip_before timestamptz, proof_before timestamptz, held text[], max_rows integer, dry_run boolean) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  ip_cut timestamptz := least(coalesce(ip_before, '-infinity'), now() - interval '90 days');
  proof_cut timestamptz := least(coalesce(proof_before, '-infinity'), now() - interval '1095 days');
  held_ids text[] := coalesce(held, '{}');
  n integer := greatest(coalesce(max_rows, 0), 0);
  erased integer := 0;
  deleted integer := 0;
BEGIN
  IF dry_run THEN
    SELECT count(*) INTO erased FROM consent.records r
      WHERE r.created_at < ip_cut AND (r.ip IS NOT NULL OR r.user_agent IS NOT NULL)
        AND (r.subject_id IS NULL OR NOT r.subject_id = ANY (held_ids));
    SELECT count(*) INTO deleted FROM consent.records r
      WHERE r.created_at < proof_cut
        AND (r.subject_id IS NULL OR NOT r.subject_id = ANY (held_ids))
        AND (
          EXISTS (SELECT 1 FROM consent.records s WHERE s.consent_id = r.consent_id AND s.created_at > r.created_at AND s.created_at < proof_cut)
          OR (r.consent_id NOT LIKE 'subject:%' AND r.created_at < proof_cut - interval '400 days')
        );
    RETURN erased + deleted;
  END IF;
  UPDATE consent.records SET ip = NULL, user_agent = NULL
    WHERE id IN (
      SELECT r.id FROM consent.records r
        WHERE r.created_at < ip_cut AND (r.ip IS NOT NULL OR r.user_agent IS NOT NULL)
          AND (r.subject_id IS NULL OR NOT r.subject_id = ANY (held_ids))
        LIMIT n);
  GET DIAGNOSTICS erased = ROW_COUNT;
  IF erased < n THEN
    -- A decision stopped being current when the next row of its consent id was written, or (a
    -- browser's, not an account's `subject:` id) when its cookie had to be gone: the cookie of a
    -- row lives maxAgeDays from that row, 400 days at most.
    DELETE FROM consent.records
      WHERE id IN (
        SELECT r.id FROM consent.records r
          WHERE r.created_at < proof_cut
            AND (r.subject_id IS NULL OR NOT r.subject_id = ANY (held_ids))
            AND (
              EXISTS (SELECT 1 FROM consent.records s WHERE s.consent_id = r.consent_id AND s.created_at > r.created_at AND s.created_at < proof_cut)
              OR (r.consent_id NOT LIKE 'subject:%' AND r.created_at < proof_cut - interval '400 days')
            )
          LIMIT n - erased);
    GET DIAGNOSTICS deleted = ROW_COUNT;
  END IF;
  RETURN erased + deleted;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION "consent"."purge_ledger"(timestamptz, timestamptz, text[], integer, boolean) FROM PUBLIC;
