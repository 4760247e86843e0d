CREATE TABLE "app"."audit_stream_sent" (
	"stream_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"day" date NOT NULL,
	CONSTRAINT "audit_stream_sent_stream_id_event_id_pk" PRIMARY KEY("stream_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "app"."audit_streams" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" uuid,
	"url" text NOT NULL,
	"format" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"cursor" uuid NOT NULL,
	"erasure_cursor" uuid NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"last_delivery_at" timestamp with time zone,
	"last_attempt_at" timestamp with time zone,
	"last_error_status" integer,
	"last_error_code" text,
	"failing_since" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ending_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "audit_streams_account_idx" ON "app"."audit_streams" USING btree ("account_id");--> statement-breakpoint
CREATE INDEX "audit_streams_due_idx" ON "app"."audit_streams" USING btree ("next_attempt_at");