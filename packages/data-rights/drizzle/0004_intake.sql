CREATE TABLE "data_rights"."messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"request_id" uuid,
	"direction" text NOT NULL,
	"message_id" text,
	"source" text,
	"at" timestamp with time zone NOT NULL,
	"size" integer,
	"unanswered" text,
	"sealed" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "data_rights"."verifications" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"address" text NOT NULL,
	"pending" jsonb,
	"received_at" timestamp with time zone NOT NULL,
	"code_hash" text,
	"code_expires_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"codes_sent" integer DEFAULT 0 NOT NULL,
	"verified_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "data_rights"."requests" ADD COLUMN "contact" text;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_source_idx" ON "data_rights"."messages" USING btree ("source");--> statement-breakpoint
CREATE INDEX "messages_message_id_idx" ON "data_rights"."messages" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "messages_request_idx" ON "data_rights"."messages" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "verifications_received_idx" ON "data_rights"."verifications" USING btree ("received_at");