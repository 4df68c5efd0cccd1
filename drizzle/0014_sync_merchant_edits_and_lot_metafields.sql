CREATE TABLE "sync_drift_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sync_drift_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"inventory_item_id" text NOT NULL,
	"shopify_location_id" text NOT NULL,
	"source" text NOT NULL,
	"before" integer,
	"after" integer NOT NULL,
	"expected" integer NOT NULL,
	"action" text NOT NULL,
	"detected_at" timestamp with time zone NOT NULL,
	"alerted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sync_level_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "sync_level_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shop" text NOT NULL,
	"webhook_id" text NOT NULL,
	"event_id" text,
	"inventory_item_id" text NOT NULL,
	"shopify_location_id" text NOT NULL,
	"available" integer NOT NULL,
	"shopify_updated_at" timestamp with time zone,
	"received_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"outcome" text DEFAULT 'PENDING' NOT NULL,
	"before" integer,
	"settled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "sync_location_policies" (
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"policy" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sync_location_policies_shop_sku_location_pk" PRIMARY KEY("shop","sku","location")
);
--> statement-breakpoint
CREATE TABLE "sync_lot_metafields" (
	"shop" text NOT NULL,
	"variant_id" text NOT NULL,
	"sku" text NOT NULL,
	"value_digest" text NOT NULL,
	"lots_digest" text,
	"compare_digest" text,
	"written_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sync_lot_metafields_shop_variant_id_pk" PRIMARY KEY("shop","variant_id")
);
--> statement-breakpoint
CREATE INDEX "sync_drift_events_item_idx" ON "sync_drift_events" USING btree ("shop","inventory_item_id","shopify_location_id","detected_at");--> statement-breakpoint
CREATE INDEX "sync_drift_events_sku_idx" ON "sync_drift_events" USING btree ("shop","sku","detected_at");--> statement-breakpoint
CREATE INDEX "sync_drift_events_detected_idx" ON "sync_drift_events" USING btree ("shop","detected_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sync_level_events_webhook_idx" ON "sync_level_events" USING btree ("shop","webhook_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sync_level_events_event_idx" ON "sync_level_events" USING btree ("shop","event_id") WHERE "sync_level_events"."event_id" is not null;--> statement-breakpoint
CREATE INDEX "sync_level_events_due_idx" ON "sync_level_events" USING btree ("shop","due_at") WHERE "sync_level_events"."due_at" is not null;--> statement-breakpoint
CREATE INDEX "sync_lot_metafields_sku_idx" ON "sync_lot_metafields" USING btree ("shop","sku");