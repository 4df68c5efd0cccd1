CREATE TABLE "inventory_levels" (
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"on_hand" double precision DEFAULT 0 NOT NULL,
	"allocated" double precision DEFAULT 0 NOT NULL,
	"wholesale_committed" double precision DEFAULT 0 NOT NULL,
	"safety_stock" double precision DEFAULT 0 NOT NULL,
	"reserved" double precision DEFAULT 0 NOT NULL,
	"pending_orders" double precision DEFAULT 0 NOT NULL,
	"unexplained_shopify_drop" double precision DEFAULT 0 NOT NULL,
	"available_to_promise" integer DEFAULT 0 NOT NULL,
	"erp_read_at" timestamp with time zone,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"shopify_available" integer,
	"shopify_read_at" timestamp with time zone,
	"last_pushed_quantity" integer,
	"last_pushed_at" timestamp with time zone,
	"push_requested_at" timestamp with time zone,
	CONSTRAINT "inventory_levels_shop_sku_location_pk" PRIMARY KEY("shop","sku","location")
);
--> statement-breakpoint
CREATE INDEX "inventory_levels_location_idx" ON "inventory_levels" USING btree ("shop","location","sku");--> statement-breakpoint
CREATE INDEX "inventory_levels_push_requested_idx" ON "inventory_levels" USING btree ("shop","push_requested_at") WHERE "inventory_levels"."push_requested_at" is not null;