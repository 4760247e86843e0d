ALTER TABLE "app"."notifications" ALTER COLUMN "account_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "app"."accounts" ADD COLUMN "deletion_pending_at" timestamp with time zone;