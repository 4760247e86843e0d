CREATE SCHEMA "data_rights";
--> statement-breakpoint
CREATE TABLE "data_rights"."erasure_jobs" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"progress" jsonb NOT NULL,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "data_rights"."export_chunks" (
	"export_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"sealed" "bytea" NOT NULL,
	CONSTRAINT "export_chunks_export_id_seq_pk" PRIMARY KEY("export_id","seq")
);
--> statement-breakpoint
CREATE TABLE "data_rights"."exports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"size" bigint NOT NULL,
	"chunks" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"downloaded_at" timestamp with time zone,
	CONSTRAINT "exports_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "data_rights"."erasure_journal" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_hash" text NOT NULL,
	"erased_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "data_rights"."requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"subject_kind" text NOT NULL,
	"account_id" uuid,
	"phone" text,
	"email" text,
	"subject_hash" text NOT NULL,
	"filed_by" text NOT NULL,
	"verification" text,
	"details" text,
	"received_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"extended_due_at" timestamp with time zone,
	"extension_reason" text,
	"history" jsonb NOT NULL,
	"receipt" jsonb,
	"due_soon_alerted_at" timestamp with time zone,
	"overdue_alerted_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "data_rights"."restrictions" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"since" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "data_rights"."export_chunks" ADD CONSTRAINT "export_chunks_export_id_exports_id_fk" FOREIGN KEY ("export_id") REFERENCES "data_rights"."exports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "erasure_jobs_due_idx" ON "data_rights"."erasure_jobs" USING btree ("due_at") WHERE "data_rights"."erasure_jobs"."status" <> 'done';--> statement-breakpoint
CREATE INDEX "requests_account_idx" ON "data_rights"."requests" USING btree ("account_id","id");--> statement-breakpoint
CREATE INDEX "requests_open_due_idx" ON "data_rights"."requests" USING btree ("due_at") WHERE "data_rights"."requests"."status" in ('open', 'in_progress');--> statement-breakpoint
CREATE INDEX "requests_status_idx" ON "data_rights"."requests" USING btree ("status","id");