CREATE TABLE "inventory_lot_digests" (
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"digest" text NOT NULL,
	"lot_count" integer NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	"refreshed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "inventory_lot_digests_shop_sku_pk" PRIMARY KEY("shop","sku")
);
--> statement-breakpoint
CREATE TABLE "inventory_lots" (
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"number" text NOT NULL,
	"quantity" double precision NOT NULL,
	"expires_on" date,
	"refreshed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "inventory_lots_shop_sku_location_number_pk" PRIMARY KEY("shop","sku","location","number")
);
--> statement-breakpoint
CREATE TABLE "sellable_shelf_life_rules" (
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"days" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sellable_shelf_life_rules_shop_sku_pk" PRIMARY KEY("shop","sku")
);
--> statement-breakpoint
ALTER TABLE "inventory_levels" ADD COLUMN "expiring_lot_units" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "inventory_lot_digests_changed_idx" ON "inventory_lot_digests" USING btree ("shop","changed_at","sku");--> statement-breakpoint
CREATE INDEX "inventory_lots_expiry_idx" ON "inventory_lots" USING btree ("shop","expires_on");