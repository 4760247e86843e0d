-- Issue 30 item 1 (review): a legal hold is placed, then released once; nothing else about it
-- changes. Without this the app role (UPDATE on retention.holds, for the release) could release a
-- hold, let a day be dropped without its held copies, and put the hold back; or backdate a release;
-- or move `until` into the past. The audit log's SECURITY DEFINER functions read these rows, so the
-- rule is the table's own, whoever writes: subject, class, reason, until and the creation stay as
-- placed; released_at (with released_by) is set once and never changed or unset afterwards.
-- Replicas of the previous version only ever insert holds and set released_at once: unaffected.
CREATE FUNCTION "retention"."hf_holds_release_once"() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.subject_id IS DISTINCT FROM OLD.subject_id OR NEW."class" IS DISTINCT FROM OLD."class"
     OR NEW.reason IS DISTINCT FROM OLD.reason OR NEW."until" IS DISTINCT FROM OLD."until"
     OR NEW.created_by IS DISTINCT FROM OLD.created_by OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'a legal hold cannot be changed, only released' USING ERRCODE = 'P0001';
  END IF;
  IF OLD.released_at IS NOT NULL AND (NEW.released_at IS DISTINCT FROM OLD.released_at OR NEW.released_by IS DISTINCT FROM OLD.released_by) THEN
    RAISE EXCEPTION 'a released legal hold stays released' USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "holds_release_once" BEFORE UPDATE ON "retention"."holds" FOR EACH ROW EXECUTE FUNCTION "retention"."hf_holds_release_once"();
