ALTER TABLE "audit"."events" ADD COLUMN "chain_version" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "audit"."events" ADD COLUMN "erased_by" text;