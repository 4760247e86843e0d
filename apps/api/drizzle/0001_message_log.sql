CREATE TABLE "app"."message_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" uuid NOT NULL,
	"session_id" text NOT NULL,
	"to" text NOT NULL,
	"chars" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "message_log_account_idx" ON "app"."message_log" USING btree ("account_id","created_at");