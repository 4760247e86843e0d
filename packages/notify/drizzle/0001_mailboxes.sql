CREATE TABLE "notify"."mailboxes" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"uid_validity" text,
	"last_uid" bigint DEFAULT 0 NOT NULL,
	"last_message_at" timestamp with time zone,
	"last_poll_at" timestamp with time zone
);
