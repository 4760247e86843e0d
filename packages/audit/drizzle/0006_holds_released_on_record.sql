-- Issue 30 item 1 (review). A hold counts as released for the audit log only once its release is
-- a chained event (retention.hold.released, written by retention's API), whatever released_at says:
-- a released_at set by hand (the app role has UPDATE on retention.holds, for the release itself)
-- no longer lets a day be dropped without its held copies, nor releases copies. (retention's
-- migration 0001 makes released_at set-once, so a release cannot be undone or backdated either.)
-- And every SECURITY DEFINER function of this schema gets pg_temp last on its search_path: when
-- pg_temp is not listed Postgres searches it first, so a caller with TEMPORARY (the app role, for
-- the COPY staging table) could shadow pg_catalog.pg_attribute and change what a drop copies.
-- Same signatures: replicas of the previous version keep calling them.
CREATE OR REPLACE FUNCTION "audit"."hf_held_subjects"() RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, audit, pg_temp AS $$
DECLARE
  held text[];
BEGIN
  IF to_regclass('retention.holds') IS NULL THEN
    RETURN '{}';
  END IF;
  SELECT coalesce(array_agg(DISTINCT h.subject_id), '{}') INTO held FROM retention.holds h
   WHERE h.subject_id IS NOT NULL AND (h."until" IS NULL OR h."until" > now())
     AND (h.released_at IS NULL OR NOT audit.hf_hold_release_recorded(h.id))
     AND (h."class" IS NULL OR h."class" = 'server_logs');
  RETURN held;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit"."hf_class_held"() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, audit, pg_temp AS $$
DECLARE
  held boolean;
BEGIN
  IF to_regclass('retention.holds') IS NULL THEN
    RETURN false;
  END IF;
  SELECT EXISTS (SELECT 1 FROM retention.holds h WHERE h.subject_id IS NULL AND h."class" = 'server_logs'
    AND (h."until" IS NULL OR h."until" > now())
    AND (h.released_at IS NULL OR NOT audit.hf_hold_release_recorded(h.id))) INTO held;
  RETURN held;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit"."releasable_held_copies"(subject text DEFAULT NULL) RETURNS TABLE (id uuid, day date)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, audit, pg_temp AS $$
BEGIN
  IF to_regclass('retention.holds') IS NULL OR audit.hf_class_held() THEN
    RETURN;
  END IF;
  RETURN QUERY
    SELECT c.id, c.day FROM audit.held_events c
     WHERE (subject IS NULL OR c.subject_id = subject)
       AND NOT EXISTS (
         SELECT 1 FROM retention.holds h
          WHERE h.subject_id = c.subject_id AND (h."class" IS NULL OR h."class" = 'server_logs')
            AND (h."until" IS NULL OR h."until" > now())
            AND (h.released_at IS NULL OR NOT audit.hf_hold_release_recorded(h.id)))
     ORDER BY c.id;
END $$;
--> statement-breakpoint
DO $$
DECLARE
  f record;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure AS sig,
           (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%') AS path
      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'audit' AND p.prosecdef
  LOOP
    IF f.path IS NULL THEN
      EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, audit, pg_temp', f.sig);
    ELSIF f.path NOT LIKE '%pg_temp%' THEN
      EXECUTE format('ALTER FUNCTION %s SET search_path = %s, pg_temp', f.sig, f.path);
    END IF;
  END LOOP;
END $$;
