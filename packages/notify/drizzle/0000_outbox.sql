CREATE SCHEMA "notify";
--> statement-breakpoint
CREATE TABLE "notify"."addresses" (
	"address" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"smtp_code" integer,
	"since" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify"."attempts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"notification_id" uuid NOT NULL,
	"attempted_at" timestamp with time zone NOT NULL,
	"outcome" text NOT NULL,
	"smtp_code" integer,
	"error" text,
	"duration_ms" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify"."outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"account_id" text,
	"address" text,
	"data" jsonb NOT NULL,
	"dedupe_key" text,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"settled_at" timestamp with time zone,
	"provider_message_id" text,
	"last_error" text,
	"erase_after_send" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify"."policy_notices" (
	"version" text PRIMARY KEY NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone,
	"recipients" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify"."preferences" (
	"account_id" text NOT NULL,
	"kind" text NOT NULL,
	"enabled" boolean NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "preferences_account_id_kind_pk" PRIMARY KEY("account_id","kind")
);
--> statement-breakpoint
CREATE INDEX "attempts_notification_idx" ON "notify"."attempts" USING btree ("notification_id");--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_dedupe_idx" ON "notify"."outbox" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "outbox_due_idx" ON "notify"."outbox" USING btree ("next_attempt_at") WHERE "notify"."outbox"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "outbox_account_idx" ON "notify"."outbox" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "outbox_status_idx" ON "notify"."outbox" USING btree ("status","id");