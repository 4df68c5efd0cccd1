CREATE TABLE "sync_item_states" (
	"shop" text NOT NULL,
	"inventory_item_id" text NOT NULL,
	"shopify_location_id" text NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"last_failure_code" text,
	"last_failure_message" text,
	"last_failed_at" timestamp with time zone,
	"last_unexplained_drop_at" timestamp with time zone,
	CONSTRAINT "sync_item_states_shop_inventory_item_id_shopify_location_id_pk" PRIMARY KEY("shop","inventory_item_id","shopify_location_id")
);
--> statement-breakpoint
CREATE TABLE "sync_push_intents" (
	"shop" text NOT NULL,
	"inventory_item_id" text NOT NULL,
	"shopify_location_id" text NOT NULL,
	"run_id" uuid NOT NULL,
	"from_quantity" integer,
	"to_quantity" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_push_intents_shop_inventory_item_id_shopify_location_id_run_id_pk" PRIMARY KEY("shop","inventory_item_id","shopify_location_id","run_id")
);
--> statement-breakpoint
CREATE TABLE "sync_run_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sync_run_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"inventory_item_id" text NOT NULL,
	"shopify_location_id" text NOT NULL,
	"from_quantity" integer,
	"to_quantity" integer NOT NULL,
	"applied" boolean NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_run_errors" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sync_run_errors_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"run_id" uuid NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"inventory_item_id" text,
	"shopify_location_id" text,
	"code" text NOT NULL,
	"message" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "sync_runs_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shop" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"full" boolean DEFAULT false NOT NULL,
	"request" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"attempts" integer DEFAULT 1 NOT NULL,
	"items_considered" integer DEFAULT 0 NOT NULL,
	"items_pushed" integer DEFAULT 0 NOT NULL,
	"items_unchanged" integer DEFAULT 0 NOT NULL,
	"items_failed" integer DEFAULT 0 NOT NULL,
	"drift_found" integer,
	"failure" jsonb
);
--> statement-breakpoint
CREATE TABLE "sync_watermarks" (
	"shop" text NOT NULL,
	"feed" text NOT NULL,
	"watermark" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_watermarks_shop_feed_pk" PRIMARY KEY("shop","feed")
);
--> statement-breakpoint
ALTER TABLE "sync_run_changes" ADD CONSTRAINT "sync_run_changes_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_run_errors" ADD CONSTRAINT "sync_run_errors_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sync_run_changes_run_idx" ON "sync_run_changes" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "sync_run_errors_run_idx" ON "sync_run_errors" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "sync_runs_shop_seq_idx" ON "sync_runs" USING btree ("shop","seq");--> statement-breakpoint
CREATE INDEX "sync_runs_running_idx" ON "sync_runs" USING btree ("shop","kind") WHERE "sync_runs"."status" = 'RUNNING';