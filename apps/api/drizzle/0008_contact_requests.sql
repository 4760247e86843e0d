CREATE TABLE "app"."contact_requests" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"phone" text NOT NULL,
	"address" text NOT NULL,
	"kind" text NOT NULL,
	"lang" text,
	"code_hash" text,
	"code_expires_at" timestamp with time zone,
	"proved_at" timestamp with time zone,
	"forwarded" integer,
	"told_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app"."forwarded_requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"account_id" uuid NOT NULL,
	"phone" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"answered_at" timestamp with time zone,
	"note" text,
	"disclose" boolean DEFAULT false NOT NULL,
	"erasure_request_id" uuid,
	"receipt" jsonb,
	"account_told_at" timestamp with time zone,
	"person_told_at" timestamp with time zone,
	"due_soon_alerted_at" timestamp with time zone,
	"overdue_alerted_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "app"."forwarded_requests" ADD CONSTRAINT "forwarded_requests_request_id_contact_requests_request_id_fk" FOREIGN KEY ("request_id") REFERENCES "app"."contact_requests"("request_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app"."forwarded_requests" ADD CONSTRAINT "forwarded_requests_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "app"."accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_requests_phone_idx" ON "app"."contact_requests" USING btree ("phone") WHERE "app"."contact_requests"."proved_at" is null;--> statement-breakpoint
CREATE INDEX "contact_requests_created_idx" ON "app"."contact_requests" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "forwarded_requests_request_account_key" ON "app"."forwarded_requests" USING btree ("request_id","account_id");--> statement-breakpoint
CREATE INDEX "forwarded_requests_account_idx" ON "app"."forwarded_requests" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "forwarded_requests_open_idx" ON "app"."forwarded_requests" USING btree ("due_at") WHERE "app"."forwarded_requests"."status" in ('open', 'erasing');--> statement-breakpoint
CREATE INDEX "forwarded_requests_erasure_idx" ON "app"."forwarded_requests" USING btree ("erasure_request_id");--> statement-breakpoint
-- Which accounts hold a number (a contact's request is passed to each, issue 32 item 3). On a large
-- message log, build it beforehand with CREATE INDEX CONCURRENTLY under this name: this then skips
-- it instead of holding writes while it builds.
-- One left INVALID by a failed CONCURRENTLY build would be skipped and never used: refused instead.
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app' AND c.relname = 'message_log_to_idx' AND NOT i.indisvalid) THEN
    RAISE EXCEPTION 'app.message_log_to_idx is invalid (a CREATE INDEX CONCURRENTLY that failed): drop it and build it again';
  END IF;
END $$;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "message_log_to_idx" ON "app"."message_log" USING btree ("to");