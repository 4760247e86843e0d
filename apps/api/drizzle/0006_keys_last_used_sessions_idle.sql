-- Issue 30 item 11: an API key's last use (GET /v1/keys; written at most once a minute per key,
-- off the request path) and a privacy-centre session's last request (30 minutes idle ends it).
-- Both only add: replicas of the previous version never read them, and a session they create
-- starts its idle clock at its creation (the default).
ALTER TABLE "app"."api_keys" ADD COLUMN "last_used_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "app"."sessions" ADD COLUMN "last_seen_at" timestamp with time zone DEFAULT now() NOT NULL;
