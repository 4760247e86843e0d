-- The ledger is proof of consent: rows are appended, never changed. DELETE is allowed only when the
-- personal-data handler's erase sets consent.allow_erase for its own transaction.
CREATE FUNCTION "consent"."records_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('consent.allow_erase', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'consent.records is append-only (% refused)', TG_OP USING ERRCODE = '42501';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "records_append_only" BEFORE UPDATE OR DELETE ON "consent"."records"
  FOR EACH ROW EXECUTE FUNCTION "consent"."records_append_only"();
