-- Held copies have the columns of audit.events (as the layout stands: either), a primary key of
-- their own and the time they were copied.
CREATE TABLE "audit"."held_events" (LIKE "audit"."events" INCLUDING DEFAULTS);
--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "held_at" timestamp with time zone DEFAULT now() NOT NULL;
--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD CONSTRAINT "held_events_pkey" PRIMARY KEY ("id");
--> statement-breakpoint
CREATE TABLE "audit"."horizon" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"day" date NOT NULL,
	"mac" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit"."partition_migration" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"last_id" uuid,
	"copied" bigint DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
-- Hand-written below this line: drizzle-kit cannot express declarative partitioning.
--
-- audit.events becomes partitioned by range of its UTC `day`, one partition per day
-- (audit.events_YYYYMMDD), so server-log retention drops a whole day in one statement. The primary
-- key then includes the partition column: (id, day). A database that already holds events keeps
-- its unpartitioned table here (rewriting a large table is not something a replica does at
-- startup while others write): `hf-audit migrate-partitions` moves it, in batches, resumable.
-- Writers insert with ON CONFLICT DO NOTHING (no target), which both layouts accept.
--
-- The partition DDL lives in SECURITY DEFINER functions owned by the role that migrates, so a
-- least-privilege DATABASE_URL role can create the days ahead and the retention runner can drop
-- old ones without owning (or being able to drop) anything else.
CREATE FUNCTION "audit"."hf_create_partitioned_events"(target text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, audit AS $$
BEGIN
  EXECUTE format('CREATE TABLE audit.%I (LIKE audit.events INCLUDING DEFAULTS) PARTITION BY RANGE (day)', target);
  EXECUTE format('ALTER TABLE audit.%I ADD CONSTRAINT %I PRIMARY KEY (id, day)', target, target || '_id_day_pk');
  EXECUTE format('CREATE INDEX %I ON audit.%I (subject_id, id) WHERE subject_id IS NOT NULL', target || '_subject_idx', target);
  EXECUTE format('CREATE INDEX %I ON audit.%I (action, id) WHERE kind = %L', target || '_security_action_idx', target, 'security');
END $$;
--> statement-breakpoint
-- Puts the partitioned table `target` in place of audit.events: the unpartitioned one is kept as
-- audit.events_legacy (or dropped when empty), indexes renamed to the canonical names.
CREATE FUNCTION "audit"."hf_swap_partitioned_events"(target text, keep_legacy boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, audit AS $$
BEGIN
  IF keep_legacy THEN
    ALTER TABLE audit.events RENAME TO events_legacy;
    ALTER INDEX audit.events_pkey RENAME TO events_legacy_pkey;
    ALTER INDEX audit.events_subject_idx RENAME TO events_legacy_subject_idx;
    ALTER INDEX audit.events_security_action_idx RENAME TO events_legacy_security_action_idx;
  ELSE
    DROP TABLE audit.events;
  END IF;
  EXECUTE format('ALTER TABLE audit.%I RENAME TO events', target);
  EXECUTE format('ALTER INDEX audit.%I RENAME TO events_id_day_pk', target || '_id_day_pk');
  EXECUTE format('ALTER INDEX audit.%I RENAME TO events_subject_idx', target || '_subject_idx');
  EXECUTE format('ALTER INDEX audit.%I RENAME TO events_security_action_idx', target || '_security_action_idx');
END $$;
--> statement-breakpoint
-- Creates the day partitions of [first_day, last_day] that do not exist yet (no DEFAULT
-- partition: an event of a day with no partition fails its insert, and the writer creates the day
-- and retries). A no-op on the unpartitioned layout. Serialized by an advisory lock, so replicas
-- creating the same day together do not collide.
CREATE FUNCTION "audit"."ensure_day_partitions"(first_day date, last_day date, parent text DEFAULT 'events') RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  d date := first_day;
  part text;
  created integer := 0;
BEGIN
  IF parent NOT IN ('events', 'events_partitioned') THEN
    RAISE EXCEPTION 'not an audit events table: %', parent USING ERRCODE = '22023';
  END IF;
  IF last_day - first_day > 400 THEN
    RAISE EXCEPTION 'at most 400 days of partitions at once' USING ERRCODE = '22023';
  END IF;
  IF (SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'audit' AND c.relname = parent) IS DISTINCT FROM 'p' THEN
    RETURN 0;
  END IF;
  WHILE d <= last_day LOOP
    part := 'events_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(format('audit.%I', part)) IS NULL THEN
      PERFORM pg_advisory_xact_lock(1212497224);
      IF to_regclass(format('audit.%I', part)) IS NULL THEN
        EXECUTE format('CREATE TABLE audit.%I PARTITION OF audit.%I FOR VALUES FROM (%L) TO (%L)', part, parent, d, d + 1);
        created := created + 1;
      END IF;
    END IF;
    d := d + 1;
  END LOOP;
  RETURN created;
END $$;
--> statement-breakpoint
-- Each writer's last checkpoint before `before` stays (verify anchors its chain there); the
-- older ones of days already purged go.
CREATE FUNCTION "audit"."hf_trim_checkpoints"(before date) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, audit AS $$
  DELETE FROM audit.checkpoints c WHERE c.day < before
    AND EXISTS (SELECT 1 FROM audit.checkpoints l WHERE l.writer = c.writer AND l.day > c.day AND l.day < before);
$$;
--> statement-breakpoint
-- Server-log retention on the partitioned layout: copies the held subjects' events of day `d` to
-- audit.held_events, then drops the day's partition in one statement. Returns the events it held
-- (NULL when the day has no partition). Refuses a day of the last 7: no purge, however
-- configured, reaches the week the audit log is most needed for.
CREATE FUNCTION "audit"."drop_day_partition"(d date, held text[]) RETURNS bigint
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
  EXECUTE format('INSERT INTO audit.held_events SELECT e.*, now() FROM audit.%I e WHERE e.subject_id = ANY($1) ON CONFLICT (id) DO NOTHING', part) USING held;
  EXECUTE format('SELECT count(*) FROM audit.%I', part) INTO n;
  EXECUTE format('DROP TABLE audit.%I', part);
  PERFORM audit.hf_trim_checkpoints(d + 1);
  RETURN n;
END $$;
--> statement-breakpoint
-- Server-log retention on the unpartitioned layout (until migrate-partitions has run): at most
-- `lim` events of the days before `before`, oldest first, held subjects' copied first.
CREATE FUNCTION "audit"."purge_days_before"(before date, held text[], lim integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  n integer;
BEGIN
  IF before > (now() AT TIME ZONE 'UTC')::date - 6 THEN
    RAISE EXCEPTION 'audit days before % are too recent to purge', before USING ERRCODE = '22023';
  END IF;
  WITH doomed AS (
    SELECT e.id FROM audit.events e WHERE e.day < before ORDER BY e.id LIMIT lim FOR UPDATE
  ), copied AS (
    INSERT INTO audit.held_events SELECT e.*, now() FROM audit.events e JOIN doomed USING (id)
    WHERE e.subject_id = ANY(held) ON CONFLICT (id) DO NOTHING
  )
  DELETE FROM audit.events e USING doomed WHERE e.id = doomed.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n < lim THEN
    PERFORM audit.hf_trim_checkpoints(before);
  END IF;
  RETURN n;
END $$;
--> statement-breakpoint
-- Held copies whose hold was released, past the period: purged like the days they came from.
CREATE FUNCTION "audit"."release_held_events"(before date, held text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  n integer;
BEGIN
  DELETE FROM audit.held_events h WHERE h.day < before AND (h.subject_id IS NULL OR NOT (h.subject_id = ANY(held)));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
--> statement-breakpoint
-- While `hf-audit migrate-partitions` copies an unpartitioned log into audit.events_partitioned,
-- these statement triggers (it installs them) mirror every write made meanwhile: inserts (the
-- days created first), erasures (an UPDATE of personal fields) and purges.
CREATE FUNCTION "audit"."hf_mirror_insert"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  PERFORM audit.ensure_day_partitions(min(day), max(day), 'events_partitioned') FROM new_rows;
  INSERT INTO audit.events_partitioned SELECT * FROM new_rows ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "audit"."hf_mirror_update"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  UPDATE audit.events_partitioned p SET subject_id = n.subject_id, ip = n.ip, user_agent = n.user_agent, path = n.path,
    resource = n.resource, details = n.details, personal_salt = n.personal_salt, erased_at = n.erased_at, erased_by = n.erased_by
  FROM new_rows n WHERE p.id = n.id AND p.day = n.day;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "audit"."hf_mirror_delete"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  DELETE FROM audit.events_partitioned p USING old_rows o WHERE p.id = o.id AND p.day = o.day;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Only the owner, and the roles it grants (apps/api/sql/least-privilege.sql), may call them.
REVOKE EXECUTE ON FUNCTION "audit"."ensure_day_partitions"(date, date, text), "audit"."drop_day_partition"(date, text[]),
  "audit"."purge_days_before"(date, text[], integer), "audit"."release_held_events"(date, text[]),
  "audit"."hf_mirror_insert"(), "audit"."hf_mirror_update"(), "audit"."hf_mirror_delete"(),
  "audit"."hf_create_partitioned_events"(text), "audit"."hf_swap_partitioned_events"(text, boolean), "audit"."hf_trim_checkpoints"(date) FROM PUBLIC;
--> statement-breakpoint
-- A database with no event yet (a new install) is partitioned at once; one holding events waits
-- for the operator's migrate-partitions.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit.events LIMIT 1) THEN
    PERFORM audit.hf_create_partitioned_events('events_partitioned');
    PERFORM audit.hf_swap_partitioned_events('events_partitioned', false);
    PERFORM audit.ensure_day_partitions((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 3);
  END IF;
END $$;
--> statement-breakpoint
CREATE INDEX "held_events_subject_idx" ON "audit"."held_events" USING btree ("subject_id","id");
