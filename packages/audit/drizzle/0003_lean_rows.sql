CREATE TABLE "audit"."routes" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit"."routes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"method" text NOT NULL,
	"route" text NOT NULL,
	"first_seen" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit"."user_agent_refs" (
	"user_agent_id" integer NOT NULL,
	"day" date NOT NULL,
	"writer_id" integer NOT NULL,
	"events" bigint NOT NULL,
	CONSTRAINT "user_agent_refs_user_agent_id_day_writer_id_pk" PRIMARY KEY("user_agent_id","day","writer_id")
);
--> statement-breakpoint
CREATE TABLE "audit"."user_agents" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit"."user_agents_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"user_agent" text NOT NULL,
	"browser_name" text,
	"browser_version" text,
	"os_name" text,
	"os_version" text,
	"device_type" text,
	"first_seen" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen" date DEFAULT (now() at time zone 'utc')::date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit"."writers" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit"."writers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"first_seen" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit"."events" ALTER COLUMN "writer" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ALTER COLUMN "kind" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ALTER COLUMN "action" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ALTER COLUMN "personal_digest" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ALTER COLUMN "prev_hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ALTER COLUMN "hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ALTER COLUMN "writer" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ALTER COLUMN "kind" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ALTER COLUMN "action" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ALTER COLUMN "personal_digest" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ALTER COLUMN "prev_hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ALTER COLUMN "hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "hash_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "personal_digest_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "personal_salt_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "prev_hash_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "user_agent_id" integer;--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "route_id" integer;--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "writer_id" integer;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "hash_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "personal_digest_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "personal_salt_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "prev_hash_bytes" "bytea";--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "user_agent_id" integer;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "route_id" integer;--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD COLUMN "writer_id" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "routes_method_route_key" ON "audit"."routes" USING btree ("method","route");--> statement-breakpoint
CREATE UNIQUE INDEX "user_agents_user_agent_key" ON "audit"."user_agents" USING btree ("user_agent");--> statement-breakpoint
CREATE UNIQUE INDEX "writers_name_key" ON "audit"."writers" USING btree ("name");--> statement-breakpoint
CREATE INDEX "held_events_user_agent_idx" ON "audit"."held_events" USING btree ("user_agent_id") WHERE "audit"."held_events"."user_agent_id" is not null;--> statement-breakpoint
-- Hand-written below this line (issue 29: chain format 3, a lean row). Everything here adds or
-- relaxes: replicas of the earlier version keep writing formats 1 and 2 beside it.
--
-- Every event carries its hash in one form or the other (text for formats 1 and 2, bytea for 3).
-- NOT VALID: rows already stored are not scanned at startup; every new row is checked.
ALTER TABLE "audit"."events" ADD CONSTRAINT "events_hash_form" CHECK ("hash" IS NOT NULL OR "hash_bytes" IS NOT NULL) NOT VALID;
--> statement-breakpoint
ALTER TABLE "audit"."held_events" ADD CONSTRAINT "held_events_hash_form" CHECK ("hash" IS NOT NULL OR "hash_bytes" IS NOT NULL) NOT VALID;
--> statement-breakpoint
-- An interrupted `hf-audit migrate-partitions` left audit.events_partitioned (made LIKE the
-- events table before these columns): it gets them too, so its mirror triggers keep copying rows.
DO $$
BEGIN
  IF to_regclass('audit.events_partitioned') IS NOT NULL THEN
    ALTER TABLE audit.events_partitioned ALTER COLUMN writer DROP NOT NULL, ALTER COLUMN kind DROP NOT NULL, ALTER COLUMN action DROP NOT NULL,
      ALTER COLUMN personal_digest DROP NOT NULL, ALTER COLUMN prev_hash DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL,
      ADD COLUMN IF NOT EXISTS hash_bytes bytea, ADD COLUMN IF NOT EXISTS personal_digest_bytes bytea, ADD COLUMN IF NOT EXISTS personal_salt_bytes bytea,
      ADD COLUMN IF NOT EXISTS prev_hash_bytes bytea, ADD COLUMN IF NOT EXISTS user_agent_id integer, ADD COLUMN IF NOT EXISTS route_id integer,
      ADD COLUMN IF NOT EXISTS writer_id integer;
  END IF;
END $$;
--> statement-breakpoint
-- Copies the events of held subjects from `source` (a day partition, or audit.events itself on the
-- unpartitioned layout, limited to the ids in `ids`) to audit.held_events, by column name (the two
-- tables have the same columns, held_events' in another order since 0003 added some). A format-3
-- copy gets the hash of the event before it in its segment (`prev_hash_bytes`, which format-3 rows
-- keep only on a segment's first event): its link goes with the day, and verify checks each held
-- copy against its own hash, which covers that link.
CREATE FUNCTION "audit"."hf_hold_events"(source text, held text[], ids uuid[] DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, audit AS $$
DECLARE
  cols text;
  vals text;
BEGIN
  SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum),
         string_agg(CASE WHEN attname = 'prev_hash_bytes'
           THEN format('coalesce(e.prev_hash_bytes, CASE WHEN e.chain_version = 3 THEN (SELECT p.hash_bytes FROM audit.%I p WHERE p.day = e.day AND p.id < e.id AND p.writer_id = e.writer_id ORDER BY p.id DESC LIMIT 1) END)', source)
           ELSE 'e.' || quote_ident(attname) END, ', ' ORDER BY attnum)
    INTO cols, vals
    FROM pg_attribute WHERE attrelid = 'audit.events'::regclass AND attnum > 0 AND NOT attisdropped;
  EXECUTE format('INSERT INTO audit.held_events (%s, held_at) SELECT %s, now() FROM audit.%I e WHERE e.subject_id = ANY($1) AND ($2::uuid[] IS NULL OR e.id = ANY($2)) ON CONFLICT (id) DO NOTHING', cols, vals, source)
    USING held, ids;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit"."drop_day_partition"(d date, held text[]) RETURNS bigint
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
  PERFORM audit.hf_hold_events(part, held);
  EXECUTE format('SELECT count(*) FROM audit.%I', part) INTO n;
  EXECUTE format('DROP TABLE audit.%I', part);
  -- The day's references to user agents went with it (held copies are counted apart).
  DELETE FROM audit.user_agent_refs WHERE day = d;
  PERFORM audit.hf_trim_checkpoints(d + 1);
  RETURN n;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit"."purge_days_before"(before date, held text[], lim integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  n integer;
  doomed uuid[];
BEGIN
  IF before > (now() AT TIME ZONE 'UTC')::date - 6 THEN
    RAISE EXCEPTION 'audit days before % are too recent to purge', before USING ERRCODE = '22023';
  END IF;
  SELECT array_agg(id) INTO doomed FROM (SELECT e.id FROM audit.events e WHERE e.day < before ORDER BY e.id LIMIT lim FOR UPDATE) s;
  IF doomed IS NULL THEN
    doomed := '{}';
  END IF;
  PERFORM audit.hf_hold_events('events', held, doomed);
  DELETE FROM audit.events e WHERE e.id = ANY(doomed) AND e.day < before;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n < lim THEN
    DELETE FROM audit.user_agent_refs WHERE day < before;
    PERFORM audit.hf_trim_checkpoints(before);
  END IF;
  RETURN n;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "audit"."hf_mirror_update"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
BEGIN
  UPDATE audit.events_partitioned p SET subject_id = n.subject_id, ip = n.ip, user_agent = n.user_agent, path = n.path,
    resource = n.resource, details = n.details, personal_salt = n.personal_salt, erased_at = n.erased_at, erased_by = n.erased_by,
    user_agent_id = n.user_agent_id, personal_salt_bytes = n.personal_salt_bytes, personal_digest_bytes = n.personal_digest_bytes
  FROM new_rows n WHERE p.id = n.id AND p.day = n.day;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Server-log retention of interned user agents: a row goes once no event and no held copy
-- references it (erasure and dropped days lower the counts in user_agent_refs) and no writer can
-- still hold its id (writers cache an id for the UTC day they looked it up, which sets last_seen).
-- Returns how many went.
CREATE FUNCTION "audit"."purge_user_agents"() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  n integer;
BEGIN
  DELETE FROM audit.user_agent_refs WHERE events <= 0;
  DELETE FROM audit.user_agents u WHERE u.last_seen < (now() AT TIME ZONE 'UTC')::date - 1
    AND NOT EXISTS (SELECT 1 FROM audit.user_agent_refs r WHERE r.user_agent_id = u.id)
    AND NOT EXISTS (SELECT 1 FROM audit.held_events h WHERE h.user_agent_id = u.id);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION "audit"."hf_hold_events"(text, text[], uuid[]), "audit"."purge_user_agents"() FROM PUBLIC;
