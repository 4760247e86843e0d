CREATE TABLE "app"."notifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "app"."accounts" ADD COLUMN "plan" text DEFAULT 'free' NOT NULL;--> statement-breakpoint
CREATE INDEX "notifications_unsent_idx" ON "app"."notifications" USING btree ("created_at") WHERE "app"."notifications"."sent_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_account_idx" ON "app"."notifications" USING btree ("account_id");