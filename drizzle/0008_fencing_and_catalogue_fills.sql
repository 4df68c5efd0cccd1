CREATE TABLE "catalogue_refreshes" (
	"scope" text NOT NULL,
	"source" text NOT NULL,
	"generation" bigint DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone,
	"completed_generation" bigint,
	"completed_at" timestamp with time zone,
	"first_completed_at" timestamp with time zone,
	CONSTRAINT "catalogue_refreshes_scope_source_pk" PRIMARY KEY("scope","source")
);
--> statement-breakpoint
ALTER TABLE "erp_locations" ADD COLUMN "seen_generation" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "shopify_locations" ADD COLUMN "seen_generation" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "shopify_variants" ADD COLUMN "seen_generation" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "job_runs" ADD COLUMN "fence" bigint;--> statement-breakpoint
ALTER TABLE "scheduler_leases" ADD COLUMN "fence" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "fence" bigint;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "single_flight" text;--> statement-breakpoint
ALTER TABLE "sync_watermarks" ADD COLUMN "fence" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "sync_runs_single_flight_idx" ON "sync_runs" USING btree ("shop","single_flight") WHERE "sync_runs"."status" = 'RUNNING' and "sync_runs"."single_flight" is not null;