CREATE SCHEMA "vault";
--> statement-breakpoint
CREATE TABLE "vault"."secrets" (
	"id" uuid PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"session_id" text NOT NULL,
	"name" text NOT NULL,
	"ciphertext" "bytea" NOT NULL,
	"kek_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "secrets_place_key" ON "vault"."secrets" USING btree ("account_id","session_id","name");--> statement-breakpoint
CREATE INDEX "secrets_kek_idx" ON "vault"."secrets" USING btree ("kek_id");