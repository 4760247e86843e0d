CREATE TABLE "data_rights"."held_erasures" (
	"request_id" uuid NOT NULL,
	"handler" text NOT NULL,
	"subject_kind" text NOT NULL,
	"account_id" uuid,
	"phone" text,
	"email" text,
	"holds" jsonb NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"lease_until" timestamp with time zone,
	CONSTRAINT "held_erasures_request_id_handler_pk" PRIMARY KEY("request_id","handler")
);
