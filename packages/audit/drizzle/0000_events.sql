CREATE SCHEMA "audit";
--> statement-breakpoint
CREATE TABLE "audit"."checkpoints" (
	"writer" text NOT NULL,
	"day" date NOT NULL,
	"count" integer NOT NULL,
	"last_hash" text NOT NULL,
	"closed" boolean DEFAULT false NOT NULL,
	"mac" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "checkpoints_writer_day_pk" PRIMARY KEY("writer","day")
);
--> statement-breakpoint
CREATE TABLE "audit"."events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"writer" text NOT NULL,
	"day" date NOT NULL,
	"seq" integer NOT NULL,
	"kind" text NOT NULL,
	"action" text NOT NULL,
	"resource" text,
	"outcome" text,
	"request_id" text,
	"method" text,
	"route" text,
	"path" text,
	"status" smallint,
	"duration_ms" double precision,
	"subject_id" text,
	"ip" text,
	"ip_invalid" boolean DEFAULT false NOT NULL,
	"user_agent" text,
	"browser_name" text,
	"browser_version" text,
	"os_name" text,
	"os_version" text,
	"device_type" text,
	"details" jsonb,
	"personal_salt" text,
	"personal_digest" text NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"erased_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "events_subject_idx" ON "audit"."events" USING btree ("subject_id","id") WHERE "audit"."events"."subject_id" is not null;--> statement-breakpoint
CREATE INDEX "events_security_action_idx" ON "audit"."events" USING btree ("action","id") WHERE "audit"."events"."kind" = 'security';