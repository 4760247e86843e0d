CREATE SCHEMA "age_gate";
--> statement-breakpoint
CREATE TABLE "age_gate"."erasures" (
	"subject_id" text PRIMARY KEY NOT NULL,
	"reported_at" timestamp with time zone NOT NULL,
	"reported_by" text NOT NULL,
	"reason" text NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"status" text NOT NULL,
	"claimed_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"counts" jsonb
);
--> statement-breakpoint
CREATE TABLE "age_gate"."ip_blocks" (
	"ip_hash" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "age_gate"."subjects" (
	"subject_id" text PRIMARY KEY NOT NULL,
	"verified_at" timestamp with time zone,
	"method" text,
	"minimum_age" integer,
	"restricted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "erasures_due_idx" ON "age_gate"."erasures" USING btree ("status","due_at");