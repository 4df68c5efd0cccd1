CREATE TABLE "erp_kit_components" (
	"kit_sku" text NOT NULL,
	"component_sku" text NOT NULL,
	"quantity" double precision NOT NULL,
	CONSTRAINT "erp_kit_components_kit_sku_component_sku_pk" PRIMARY KEY("kit_sku","component_sku")
);
--> statement-breakpoint
CREATE TABLE "erp_kit_stock" (
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"on_hand" double precision NOT NULL,
	"read_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "erp_kit_stock_sku_location_pk" PRIMARY KEY("sku","location")
);
--> statement-breakpoint
CREATE TABLE "erp_locations" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"parent_code" text,
	"warehouse_code" text NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "erp_products" (
	"sku" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"stock_tracked" boolean NOT NULL,
	"components" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "location_mappings" (
	"shop" text NOT NULL,
	"erp_location" text NOT NULL,
	"shopify_location_id" text NOT NULL,
	"source" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "location_mappings_shop_erp_location_pk" PRIMARY KEY("shop","erp_location")
);
--> statement-breakpoint
CREATE TABLE "shopify_locations" (
	"shop" text NOT NULL,
	"location_id" text NOT NULL,
	"name" text NOT NULL,
	"is_active" boolean NOT NULL,
	"fulfills_online_orders" boolean NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shopify_locations_shop_location_id_pk" PRIMARY KEY("shop","location_id")
);
--> statement-breakpoint
CREATE TABLE "shopify_variants" (
	"shop" text NOT NULL,
	"variant_id" text NOT NULL,
	"sku" text,
	"product_id" text NOT NULL,
	"product_title" text NOT NULL,
	"variant_title" text NOT NULL,
	"inventory_item_id" text NOT NULL,
	"tracked" boolean NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shopify_variants_shop_variant_id_pk" PRIMARY KEY("shop","variant_id")
);
--> statement-breakpoint
CREATE TABLE "sku_abbreviations" (
	"shop" text NOT NULL,
	"abbreviation" text NOT NULL,
	"expansion" text NOT NULL,
	CONSTRAINT "sku_abbreviations_shop_abbreviation_pk" PRIMARY KEY("shop","abbreviation")
);
--> statement-breakpoint
CREATE TABLE "sku_mapping_conflicts" (
	"shop" text NOT NULL,
	"erp_sku" text NOT NULL,
	"reason" text NOT NULL,
	"candidates" jsonb NOT NULL,
	"competing_erp_skus" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"detected_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sku_mapping_conflicts_shop_erp_sku_pk" PRIMARY KEY("shop","erp_sku")
);
--> statement-breakpoint
CREATE TABLE "sku_mappings" (
	"shop" text NOT NULL,
	"erp_sku" text NOT NULL,
	"source" text NOT NULL,
	"shopify_variant_id" text NOT NULL,
	"shopify_sku" text,
	"shopify_inventory_item_id" text NOT NULL,
	"erp_units" integer DEFAULT 1 NOT NULL,
	"shopify_units" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sku_mappings_shop_erp_sku_pk" PRIMARY KEY("shop","erp_sku")
);
--> statement-breakpoint
CREATE TABLE "sku_normalization_settings" (
	"shop" text PRIMARY KEY NOT NULL,
	"ignore_case" boolean DEFAULT true NOT NULL,
	"ignore_separators" boolean DEFAULT true NOT NULL,
	"separators" text DEFAULT '-_./' NOT NULL,
	"ignore_whitespace" boolean DEFAULT true NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "safety_stock_rules" (
	"shop" text NOT NULL,
	"sku" text DEFAULT '' NOT NULL,
	"location" text DEFAULT '' NOT NULL,
	"quantity" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "safety_stock_rules_shop_sku_location_pk" PRIMARY KEY("shop","sku","location")
);
--> statement-breakpoint
CREATE INDEX "erp_kit_components_component_idx" ON "erp_kit_components" USING btree ("component_sku");--> statement-breakpoint
CREATE INDEX "erp_products_active_idx" ON "erp_products" USING btree ("active","sku");--> statement-breakpoint
CREATE INDEX "location_mappings_shopify_idx" ON "location_mappings" USING btree ("shop","shopify_location_id");--> statement-breakpoint
CREATE INDEX "shopify_variants_item_idx" ON "shopify_variants" USING btree ("shop","inventory_item_id");--> statement-breakpoint
CREATE INDEX "shopify_variants_sku_idx" ON "shopify_variants" USING btree ("shop","sku");--> statement-breakpoint
CREATE UNIQUE INDEX "sku_mappings_variant_idx" ON "sku_mappings" USING btree ("shop","shopify_variant_id");--> statement-breakpoint
CREATE INDEX "sku_mappings_item_idx" ON "sku_mappings" USING btree ("shop","shopify_inventory_item_id");