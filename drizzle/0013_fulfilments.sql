CREATE TABLE "fulfilment_feed_positions" (
	"shop" text PRIMARY KEY NOT NULL,
	"watermark" text NOT NULL,
	"fence" bigint,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fulfilments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"shop" text NOT NULL,
	"shipment_id" text NOT NULL,
	"shipment_reference" text NOT NULL,
	"sales_order_reference" text NOT NULL,
	"shopify_order_id" text,
	"status" text NOT NULL,
	"carrier" text,
	"tracking_number" text,
	"tracking_url" text,
	"shipped_at" timestamp with time zone NOT NULL,
	"lines" jsonb NOT NULL,
	"planned_lines" jsonb,
	"submitted_at" timestamp with time zone,
	"shopify_fulfillment_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"note" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error_code" text,
	"last_error" text,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claim_token" text,
	"claim_expires_at" timestamp with time zone,
	"alerted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "fulfilments_shop_shipment_idx" ON "fulfilments" USING btree ("shop","shipment_id");--> statement-breakpoint
CREATE INDEX "fulfilments_shop_order_idx" ON "fulfilments" USING btree ("shop","shopify_order_id");--> statement-breakpoint
CREATE INDEX "fulfilments_due_idx" ON "fulfilments" USING btree ("next_attempt_at") WHERE "fulfilments"."status" in ('PENDING', 'SUBMITTING', 'FAILED');