ALTER TABLE "webhooks"."attempts" ADD COLUMN "response_excerpt" text;--> statement-breakpoint
ALTER TABLE "webhooks"."endpoints" ADD COLUMN "failing_since" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "deliveries_held_idx" ON "webhooks"."deliveries" USING btree ("endpoint_id") WHERE "webhooks"."deliveries"."status" = 'held';