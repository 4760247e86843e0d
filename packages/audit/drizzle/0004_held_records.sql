CREATE TABLE "audit"."held_days" (
	"day" date PRIMARY KEY NOT NULL,
	"count" bigint NOT NULL,
	"ids_sha256" text NOT NULL,
	"mac" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit"."held_released" (
	"id" uuid PRIMARY KEY NOT NULL,
	"day" date NOT NULL,
	"hash" text NOT NULL,
	"release_id" uuid NOT NULL,
	"released_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "held_events_day_idx" ON "audit"."held_events" USING btree ("day","id");--> statement-breakpoint
CREATE INDEX "held_released_day_idx" ON "audit"."held_released" USING btree ("day","id");--> statement-breakpoint
-- Hand-written below this line (issue 30 item 1: held copies the app role cannot destroy).
--
-- The SECURITY DEFINER retention functions took the held subjects and the release date from their
-- caller, so the least-privilege app role could call them with an empty list (a day dropped
-- before the runner copied its held subjects; every held copy released). They now read the legal
-- holds themselves, from @harakaflow/retention's table (retention.holds: the one place where the
-- audit log's SQL reads another package's table, because a hold must bind the database functions,
-- not only the callers that pass it on). Without that table (the audit log used alone) nothing is
-- held. The previous version's signatures stay for one release, their list and date ignored.
-- Everything here adds or replaces functions: replicas of the previous version keep working.

-- The accounts whose audit events a legal hold keeps: active holds on a subject for every class
-- or for server_logs.
CREATE FUNCTION "audit"."hf_held_subjects"() RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, audit AS $$
DECLARE
  held text[];
BEGIN
  IF to_regclass('retention.holds') IS NULL THEN
    RETURN '{}';
  END IF;
  SELECT coalesce(array_agg(DISTINCT h.subject_id), '{}') INTO held FROM retention.holds h
   WHERE h.subject_id IS NOT NULL AND h.released_at IS NULL AND (h.until IS NULL OR h.until > now())
     AND (h."class" IS NULL OR h."class" = 'server_logs');
  RETURN held;
END $$;
--> statement-breakpoint
-- Is the whole server_logs class held (a hold on the class, no subject)? Then no day is dropped
-- and no held copy released, whoever asks.
CREATE FUNCTION "audit"."hf_class_held"() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, audit AS $$
DECLARE
  held boolean;
BEGIN
  IF to_regclass('retention.holds') IS NULL THEN
    RETURN false;
  END IF;
  SELECT EXISTS (SELECT 1 FROM retention.holds h WHERE h.subject_id IS NULL AND h."class" = 'server_logs'
    AND h.released_at IS NULL AND (h.until IS NULL OR h.until > now())) INTO held;
  RETURN held;
END $$;
--> statement-breakpoint
-- Was hold `hold_id` released through the API, i.e. is its release a chained event
-- (retention.hold.released, resource retention-hold:<id>), in the log or among the held copies?
CREATE FUNCTION "audit"."hf_hold_release_recorded"(hold_id uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, audit AS $$
  SELECT EXISTS (SELECT 1 FROM audit.events e WHERE e.kind = 'security' AND e.action = 'retention.hold.released' AND e.resource = 'retention-hold:' || hold_id::text)
      OR EXISTS (SELECT 1 FROM audit.held_events e WHERE e.kind = 'security' AND e.action = 'retention.hold.released' AND e.resource = 'retention-hold:' || hold_id::text);
$$;
--> statement-breakpoint
-- What a day's record states: how many copies it held (those since released included) and a
-- SHA-256 over `id " " hash` lines in id order. Verify computes the same from the rows.
CREATE FUNCTION "audit"."held_day_state"(d date, OUT n bigint, OUT ids_sha256 text)
LANGUAGE sql STABLE SET search_path = pg_catalog, audit AS $$
  SELECT count(*), encode(sha256(convert_to(coalesce(string_agg(s.id::text || ' ' || s.hash, E'\n' ORDER BY s.id), ''), 'UTF8')), 'hex')
  FROM (SELECT c.id, coalesce(c.hash, encode(c.hash_bytes, 'hex'), '') AS hash FROM audit.held_events c WHERE c.day = d
        UNION ALL SELECT r.id, r.hash FROM audit.held_released r WHERE r.day = d) s;
$$;
--> statement-breakpoint
-- Before a day's copies are added to: the copies already there must be what its record states
-- (a record is rewritten, and signed again by the runner, only over copies that still match it).
CREATE FUNCTION "audit"."hf_check_held_day"(d date) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, audit AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM audit.held_days r, audit.held_day_state(d) s WHERE r.day = d AND (r.count <> s.n OR r.ids_sha256 <> s.ids_sha256)) THEN
    RAISE EXCEPTION 'the held copies of audit day % do not match their record', d USING ERRCODE = '55000';
  END IF;
END $$;
--> statement-breakpoint
-- (Re)writes day d's record from its copies, unsigned (the runner signs it in the same
-- transaction); a record that would not change keeps its signature.
CREATE FUNCTION "audit"."hf_record_held_day"(d date) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, audit AS $$
  INSERT INTO audit.held_days AS r (day, count, ids_sha256) SELECT d, s.n, s.ids_sha256 FROM audit.held_day_state(d) s
  ON CONFLICT (day) DO UPDATE SET count = excluded.count, ids_sha256 = excluded.ids_sha256, mac = NULL, updated_at = now()
  WHERE r.count <> excluded.count OR r.ids_sha256 <> excluded.ids_sha256;
$$;
--> statement-breakpoint
-- Server-log retention on the partitioned layout: the held subjects' events of day `d` copied to
-- audit.held_events (the holds read here, not passed in), the day's record written, then the
-- partition dropped, in one transaction. Refuses a day of the last 7 and any day while the class
-- is held. Returns the day's events (NULL when it has no partition).
CREATE FUNCTION "audit"."drop_day_partition"(d date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  part text := 'events_' || to_char(d, 'YYYYMMDD');
  n bigint;
BEGIN
  IF d > (now() AT TIME ZONE 'UTC')::date - 7 THEN
    RAISE EXCEPTION 'audit day % is too recent to purge', d USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'audit.events'::regclass AND c.relname = part) THEN
    RETURN NULL;
  END IF;
  IF audit.hf_class_held() THEN
    RAISE EXCEPTION 'server_logs is under a legal hold: audit day % is kept', d USING ERRCODE = '55000';
  END IF;
  PERFORM audit.hf_check_held_day(d);
  PERFORM audit.hf_hold_events(part, audit.hf_held_subjects());
  PERFORM audit.hf_record_held_day(d);
  EXECUTE format('SELECT count(*) FROM audit.%I', part) INTO n;
  EXECUTE format('DROP TABLE audit.%I', part);
  DELETE FROM audit.user_agent_refs WHERE day = d;
  PERFORM audit.hf_trim_checkpoints(d + 1);
  RETURN n;
END $$;
--> statement-breakpoint
-- The previous version's signature, kept for one release: `held` is ignored.
CREATE OR REPLACE FUNCTION "audit"."drop_day_partition"(d date, held text[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  RETURN audit.drop_day_partition(d);
END $$;
--> statement-breakpoint
-- Server-log retention on the unpartitioned layout: at most `lim` events of the days before
-- `before`, oldest first, the held subjects' copied first and the records of the days it touched
-- rewritten (`days`: the runner signs them).
CREATE FUNCTION "audit"."purge_days_before"(before date, lim integer, OUT purged integer, OUT days date[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  doomed uuid[];
  d date;
BEGIN
  IF before > (now() AT TIME ZONE 'UTC')::date - 6 THEN
    RAISE EXCEPTION 'audit days before % are too recent to purge', before USING ERRCODE = '22023';
  END IF;
  IF audit.hf_class_held() THEN
    RAISE EXCEPTION 'server_logs is under a legal hold: audit days before % are kept', before USING ERRCODE = '55000';
  END IF;
  SELECT array_agg(s.id), array_agg(DISTINCT s.day) INTO doomed, days
    FROM (SELECT e.id, e.day FROM audit.events e WHERE e.day < before ORDER BY e.id LIMIT lim FOR UPDATE) s;
  doomed := coalesce(doomed, '{}');
  days := coalesce(days, '{}');
  FOREACH d IN ARRAY days LOOP
    PERFORM audit.hf_check_held_day(d);
  END LOOP;
  PERFORM audit.hf_hold_events('events', audit.hf_held_subjects(), doomed);
  FOREACH d IN ARRAY days LOOP
    PERFORM audit.hf_record_held_day(d);
  END LOOP;
  DELETE FROM audit.events e WHERE e.id = ANY(doomed) AND e.day < before;
  GET DIAGNOSTICS purged = ROW_COUNT;
  IF purged < lim THEN
    DELETE FROM audit.user_agent_refs WHERE day < before;
    PERFORM audit.hf_trim_checkpoints(before);
  END IF;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit"."purge_days_before"(before date, held text[], lim integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  RETURN (audit.purge_days_before(before, lim)).purged;
END $$;
--> statement-breakpoint
-- The held copies that may go: no active hold keeps their subject (nor the whole class), and every
-- hold on it released since the copy was made was released through the API (a chained
-- retention.hold.released event). A hold whose `until` passed ends without an event. Only `subject`'s
-- copies when given. Nothing without retention's table (nothing was held, so nothing is copied).
CREATE FUNCTION "audit"."releasable_held_copies"(subject text DEFAULT NULL) RETURNS TABLE (id uuid, day date)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
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
            AND ((h.released_at IS NULL AND (h.until IS NULL OR h.until > now()))
              OR (h.released_at IS NOT NULL AND h.released_at >= c.held_at AND NOT audit.hf_hold_release_recorded(h.id))))
     ORDER BY c.id;
END $$;
--> statement-breakpoint
-- Releases those of `ids` that may go (see releasable_held_copies), under release `rel`, whose
-- chained record (an audit.held.released event naming it) must already be in the log: each copy
-- leaves its id, day and hash behind in audit.held_released, so the day's record still adds up.
-- How many went.
CREATE FUNCTION "audit"."release_held_copies"(rel uuid, ids uuid[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  n integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit.events e WHERE e.kind = 'security' AND e.action = 'audit.held.released' AND e.details->>'releaseId' = rel::text) THEN
    RAISE EXCEPTION 'release % has no chained record', rel USING ERRCODE = '55000';
  END IF;
  WITH gone AS (
    DELETE FROM audit.held_events c WHERE c.id = ANY(ids) AND c.id IN (SELECT r.id FROM audit.releasable_held_copies(NULL) r)
    RETURNING c.id, c.day, coalesce(c.hash, encode(c.hash_bytes, 'hex'), '') AS hash
  )
  INSERT INTO audit.held_released (id, day, hash, release_id) SELECT g.id, g.day, g.hash, rel FROM gone g ON CONFLICT (id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
--> statement-breakpoint
-- The previous version's signature, kept for one release: it released every copy whose subject
-- was missing from the caller's list, so it now releases nothing (this version's runner releases,
-- under a chained record).
CREATE OR REPLACE FUNCTION "audit"."release_held_events"(before date, held text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  RETURN 0;
END $$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION "audit"."hf_held_subjects"(), "audit"."hf_class_held"(), "audit"."hf_hold_release_recorded"(uuid),
  "audit"."hf_check_held_day"(date), "audit"."hf_record_held_day"(date), "audit"."drop_day_partition"(date),
  "audit"."purge_days_before"(date, integer), "audit"."releasable_held_copies"(text), "audit"."release_held_copies"(uuid, uuid[]) FROM PUBLIC;
--> statement-breakpoint
-- Copies made before this version get their record now, unsigned: the first retention run of this
-- version signs those that still match (and says so in the chain: audit.held.adopted).
DO $$
DECLARE
  d date;
BEGIN
  FOR d IN SELECT DISTINCT c.day FROM audit.held_events c LOOP
    PERFORM audit.hf_record_held_day(d);
  END LOOP;
END $$;
--> statement-breakpoint
-- A role already granted the previous version's retention functions (apps/api/sql/least-privilege.sql)
-- gets this version's at once, so replicas of this version run retention before the operator
-- reruns that file (which also takes the role's UPDATE on held copies away once no replica of the
-- previous version erases them any more).
DO $$
DECLARE
  r text;
BEGIN
  FOR r IN SELECT DISTINCT a.grantee::regrole::text FROM pg_proc p, aclexplode(p.proacl) a
      WHERE p.oid = 'audit.drop_day_partition(date, text[])'::regprocedure AND a.privilege_type = 'EXECUTE'
        AND a.grantee <> 0 AND a.grantee <> p.proowner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION audit.drop_day_partition(date), audit.purge_days_before(date, integer), audit.releasable_held_copies(text), audit.release_held_copies(uuid, uuid[]) TO %s', r);
    EXECUTE format('GRANT SELECT ON audit.held_days, audit.held_released TO %s', r);
    EXECUTE format('GRANT UPDATE (mac) ON audit.held_days TO %s', r);
  END LOOP;
END $$;
