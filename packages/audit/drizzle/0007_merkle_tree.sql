-- Issue 33 items 1 to 3: one RFC 6962 Merkle tree over every writer's events, appended by the
-- writers' integrator (tree.ts), whose heads are signed as C2SP checkpoints. Only adds: replicas of
-- the previous version keep writing events as before; the next integrator run appends them.
CREATE TABLE "audit"."tree_state" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL CHECK ("id"),
	"size" bigint DEFAULT 0 NOT NULL,
	"frontier" bytea DEFAULT '\x'::bytea NOT NULL,
	"root" bytea NOT NULL,
	"note" text,
	"note_size" bigint,
	"ranges_count" bigint DEFAULT 0 NOT NULL,
	"ranges_hash" bytea DEFAULT sha256(''::bytea) NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
INSERT INTO "audit"."tree_state" ("id", "root") VALUES (true, sha256(''::bytea)) ON CONFLICT DO NOTHING;
--> statement-breakpoint
-- Which events are which leaves: each run of one segment's consecutive events, from tree index "start".
CREATE TABLE "audit"."tree_ranges" (
	"start" bigint PRIMARY KEY NOT NULL,
	"writer" text NOT NULL,
	"day" date NOT NULL,
	"first_seq" integer NOT NULL,
	"count" integer NOT NULL CHECK ("count" > 0),
	"first_id" uuid NOT NULL,
	"last_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE INDEX "tree_ranges_segment_idx" ON "audit"."tree_ranges" ("writer", "day", "first_seq");
--> statement-breakpoint
CREATE INDEX "tree_ranges_day_idx" ON "audit"."tree_ranges" ("day");
--> statement-breakpoint
-- How far each segment is in the tree: its events of seq < included are leaves.
CREATE TABLE "audit"."tree_segments" (
	"writer" text NOT NULL,
	"day" date NOT NULL,
	"included" integer NOT NULL,
	"last_id" uuid NOT NULL,
	CONSTRAINT "tree_segments_pkey" PRIMARY KEY ("writer", "day")
);
--> statement-breakpoint
-- Every complete subtree of 256 leaves or more (level >= 8): proofs read these, never whole days.
CREATE TABLE "audit"."tree_nodes" (
	"level" smallint NOT NULL,
	"idx" bigint NOT NULL,
	"hash" bytea NOT NULL,
	CONSTRAINT "tree_nodes_pkey" PRIMARY KEY ("level", "idx")
);
--> statement-breakpoint
-- Leaf hashes kept when their day was dropped, for the 256-leaf blocks that also hold kept leaves.
CREATE TABLE "audit"."tree_leaves" (
	"idx" bigint PRIMARY KEY NOT NULL,
	"hash" bytea NOT NULL
);
--> statement-breakpoint
-- Signed heads: the last of each UTC hour (the latest is also in tree_state).
CREATE TABLE "audit"."tree_heads" (
	"hour" timestamp with time zone PRIMARY KEY NOT NULL,
	"size" bigint NOT NULL,
	"root" bytea NOT NULL,
	"note" text NOT NULL
);
