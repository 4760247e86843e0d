CREATE SCHEMA "consent";
--> statement-breakpoint
CREATE TABLE "consent"."records" (
	"id" uuid PRIMARY KEY NOT NULL,
	"consent_id" text NOT NULL,
	"subject_id" text,
	"action" text NOT NULL,
	"source" text NOT NULL,
	"policy_version" text NOT NULL,
	"categories" text[] NOT NULL,
	"ip" text,
	"user_agent" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "records_subject_idx" ON "consent"."records" USING btree ("subject_id","created_at");--> statement-breakpoint
CREATE INDEX "records_consent_idx" ON "consent"."records" USING btree ("consent_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "records_continued_use_once" ON "consent"."records" USING btree ("subject_id","policy_version") WHERE action = 'continued-use';