-- Issue 30 item 5: an erasure reaches the events written after it. Events still in a writer's
-- queue, in a spill file or on another replica when a subject is erased used to be inserted later
-- carrying the subject. The erasure now leaves a tombstone of the subject (a keyed hash of its id
-- under the checkpoint keys: never the id itself), and every writer erases, as it inserts them, the
-- events of a tombstoned subject that occurred before the tombstone.
CREATE TABLE "audit"."subject_tombstones" (
	"key" bytea PRIMARY KEY NOT NULL,
	"erased_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Events a writer erased as it inserted them, and the erasure record (an audit.subject.erased
-- event) that must state them: written in the batch's transaction, so a record the writer could not
-- append (a crash right after the commit) is appended later by any replica.
CREATE TABLE "audit"."late_erasures" (
	"erasure_id" uuid PRIMARY KEY NOT NULL,
	"writer" text NOT NULL,
	"details" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Hand-written below this line.
--
-- Which of a batch's subjects (by keyed hash; `earliest`: when the batch's first event of that
-- subject occurred) were erased after that event: the tombstone and when it was written (epoch
-- ms). Called by every writer inside the transaction (or the one statement) that inserts the
-- batch. It first takes the tombstone lock shared, then reads the tombstones with a snapshot of
-- its own (a VOLATILE function takes a fresh snapshot per query under READ COMMITTED): a tombstone
-- written while the caller waited for the lock is seen. add_subject_tombstones takes the same lock
-- exclusively, so it commits only once every batch that could have missed it has committed (and
-- the erasure, which lists the subject's events after it, finds them).
CREATE FUNCTION "audit"."tombstones_for"(keys bytea[], earliest timestamptz[])
RETURNS TABLE (tombstone text, erased_ms double precision)
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, audit AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1212497301);
  RETURN QUERY SELECT encode(t.key, 'hex'), (extract(epoch FROM t.erased_at) * 1000)::double precision
    FROM unnest(keys, earliest) AS u(k, first_at) JOIN audit.subject_tombstones t ON t.key = u.k
    WHERE t.erased_at >= u.first_at;
END $$;
--> statement-breakpoint
-- The erasure's tombstones (one per checkpoint key), stamped after the lock is taken: every event
-- that occurred before the stamp and is inserted after the commit is erased by its writer.
CREATE FUNCTION "audit"."add_subject_tombstones"(keys bytea[]) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, audit SET lock_timeout = '10s' AS $$
DECLARE
  stamp timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(1212497301);
  stamp := clock_timestamp();
  INSERT INTO audit.subject_tombstones AS t (key, erased_at) SELECT DISTINCT k, stamp FROM unnest(keys) AS k
    ON CONFLICT (key) DO UPDATE SET erased_at = excluded.erased_at;
  RETURN stamp;
END $$;
--> statement-breakpoint
-- Tombstones (and late-erasure rows) older than the longest a buffered event can wait: the
-- server-log period plus a day (the writer erases any event older than that as it inserts it).
-- Never fewer than 8 days, whoever calls it. The app role has no DELETE in audit: only this.
CREATE FUNCTION "audit"."purge_subject_tombstones"(keep_days integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, audit AS $$
DECLARE
  n integer;
BEGIN
  DELETE FROM audit.subject_tombstones WHERE erased_at < now() - make_interval(days => greatest(keep_days, 8));
  GET DIAGNOSTICS n = ROW_COUNT;
  DELETE FROM audit.late_erasures WHERE created_at < now() - make_interval(days => greatest(keep_days, 8));
  RETURN n;
END $$;
--> statement-breakpoint
REVOKE EXECUTE ON FUNCTION "audit"."purge_subject_tombstones"(integer) FROM PUBLIC;
