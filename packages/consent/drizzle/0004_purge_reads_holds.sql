-- Issue 30 item 4 follow-up (the principle of item 1): consent.purge_ledger is SECURITY DEFINER and
-- took the held subjects from its caller, so the least-privilege app role could call it with an
-- empty list and erase the IPs and user agents of held subjects' rows older than 90 days, and delete
-- their decisions past the proof period, despite a legal hold. It now reads the legal holds itself,
-- from @harakaflow/retention's table (retention.holds) when that is installed, and ignores its
-- `held` argument (kept, with the whole signature, so the previous version's callers and the
-- append-only trigger's frame check keep working during a rolling deploy):
--   * a hold on the whole class (no subject, class `consent_ledger`): the function changes nothing
--     and counts nothing;
--   * a hold on a subject, for `consent_ledger` or for every class (no class): that subject's rows
--     stay as they are.
-- A hold is active while it is not released and its `until` (if any) has not passed. The holds are
-- read through EXECUTE, so this compiles and runs where the retention package is not installed
-- (consent alone: nothing is held). The periods and everything else are as in drizzle/0003.
CREATE OR REPLACE FUNCTION "consent"."purge_ledger"(ip_before timestamptz, proof_before timestamptz, held text[], max_rows integer, dry_run boolean) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  ip_cut timestamptz := least(coalesce(ip_before, '-infinity'), now() - interval '90 days');
  proof_cut timestamptz := least(coalesce(proof_before, '-infinity'), now() - interval '1095 days');
  -- Not the caller's `held`: the holds are read below.
  held_ids text[] := '{}';
  class_held boolean := false;
  n integer := greatest(coalesce(max_rows, 0), 0);
  erased integer := 0;
  deleted integer := 0;
BEGIN
  IF pg_catalog.to_regclass('retention.holds') IS NOT NULL THEN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM retention.holds h WHERE h.subject_id IS NULL AND h."class" = $1'
      ' AND h.released_at IS NULL AND (h.until IS NULL OR h.until > pg_catalog.now()))'
      INTO class_held USING 'consent_ledger'::text;
    IF class_held THEN
      RETURN 0;
    END IF;
    EXECUTE 'SELECT coalesce(pg_catalog.array_agg(DISTINCT h.subject_id), ''{}''::text[]) FROM retention.holds h'
      ' WHERE h.subject_id IS NOT NULL AND h.released_at IS NULL AND (h.until IS NULL OR h.until > pg_catalog.now())'
      ' AND (h."class" IS NULL OR h."class" = $1)'
      INTO held_ids USING 'consent_ledger'::text;
  END IF;
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
