CREATE TABLE "notify"."deliveries" (
	"notification_id" uuid PRIMARY KEY NOT NULL,
	"account_id" text,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"accepted_at" timestamp with time zone,
	"outcome" text NOT NULL,
	"outcome_at" timestamp with time zone NOT NULL,
	"dsn_status" text,
	"smtp_code" integer,
	"feedback_type" text,
	"notice_reason" text,
	"shown_at" timestamp with time zone,
	"acknowledged_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notify"."reports" (
	"key" text PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"outcome" text NOT NULL,
	"notification_id" uuid NOT NULL,
	"matched_by" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notify"."addresses" ADD COLUMN "dsn_status" text;--> statement-breakpoint
CREATE INDEX "deliveries_account_idx" ON "notify"."deliveries" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "deliveries_open_notices_idx" ON "notify"."deliveries" USING btree ("account_id") WHERE "notify"."deliveries"."notice_reason" is not null and "notify"."deliveries"."acknowledged_at" is null;--> statement-breakpoint
CREATE INDEX "reports_notification_idx" ON "notify"."reports" USING btree ("notification_id");--> statement-breakpoint
CREATE INDEX "reports_received_idx" ON "notify"."reports" USING btree ("received_at");