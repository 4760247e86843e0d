-- Issue 12 item 6: the append-only guard was a suggestion. Any session could set the
-- consent.allow_erase GUC and delete rows, and TRUNCATE emptied the table.
-- Now a DELETE passes only when it is the statement of consent.erase_subject(text) itself: the
-- trigger reads the call stack (PG_CONTEXT), whose outermost frame must be that function. A GUC, a
-- DO block or a comment quoting the function's name does not pass. TRUNCATE is refused outright.
CREATE OR REPLACE FUNCTION "consent"."records_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  stack text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    GET DIAGNOSTICS stack = PG_CONTEXT;
    IF stack ~ '\nPL/pgSQL function consent\.erase_subject\(text\) line [0-9]+ at SQL statement$' THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION 'consent.records is append-only (% refused; erasure goes through consent.erase_subject)', TG_OP USING ERRCODE = '42501';
END
$$;
--> statement-breakpoint
-- The one way to erase: a subject's rows, as the table's owner (SECURITY DEFINER), so a
-- least-privilege role that may not DELETE can still be granted EXECUTE on this.
CREATE OR REPLACE FUNCTION "consent"."erase_subject"(subject text) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  erased integer;
BEGIN
  DELETE FROM consent.records WHERE subject_id = subject;
  GET DIAGNOSTICS erased = ROW_COUNT;
  RETURN erased;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION "consent"."erase_subject"(text) FROM PUBLIC;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "consent"."records_no_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'consent.records is append-only (TRUNCATE refused)' USING ERRCODE = '42501';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "records_no_truncate" BEFORE TRUNCATE ON "consent"."records"
  FOR EACH STATEMENT EXECUTE FUNCTION "consent"."records_no_truncate"();
