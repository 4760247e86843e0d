CREATE SCHEMA "quota";
--> statement-breakpoint
CREATE TABLE "quota"."rate_limits" (
	"key" text PRIMARY KEY NOT NULL,
	"points" integer NOT NULL,
	"expire" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "quota"."usage_daily" (
	"account_id" text NOT NULL,
	"day" date NOT NULL,
	"metric" text NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "usage_daily_account_id_day_metric_pk" PRIMARY KEY("account_id","day","metric")
);
--> statement-breakpoint
CREATE TABLE "quota"."warnings" (
	"subject" text NOT NULL,
	"quota" text NOT NULL,
	"threshold" integer NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "warnings_subject_quota_threshold_period_end_pk" PRIMARY KEY("subject","quota","threshold","period_end")
);
