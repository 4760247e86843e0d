CREATE SCHEMA "retention";
--> statement-breakpoint
CREATE TABLE "retention"."class_runs" (
	"run_id" uuid NOT NULL,
	"class" text NOT NULL,
	"cutoff" timestamp with time zone NOT NULL,
	"rows" integer DEFAULT 0 NOT NULL,
	"partitions" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL,
	"error" text,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "class_runs_run_id_class_pk" PRIMARY KEY("run_id","class")
);
--> statement-breakpoint
CREATE TABLE "retention"."holds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subject_id" text,
	"class" text,
	"reason" text NOT NULL,
	"until" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"released_by" text,
	"released_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "retention"."lease" (
	"id" integer PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "retention"."runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"dry_run" integer DEFAULT 0 NOT NULL,
	"status" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "holds_active_idx" ON "retention"."holds" USING btree ("class") WHERE released_at is null;