CREATE TABLE "order_poll_state" (
	"shop" text PRIMARY KEY NOT NULL,
	"cutover_at" timestamp with time zone NOT NULL,
	"watermark" timestamp with time zone NOT NULL,
	"last_run_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "order_returns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"shop" text NOT NULL,
	"order_id" uuid NOT NULL,
	"shopify_refund_id" text NOT NULL,
	"lines" jsonb NOT NULL,
	"status" text NOT NULL,
	"erp_reference" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "shopify_order_lines" (
	"order_id" uuid NOT NULL,
	"line_no" integer NOT NULL,
	"shop" text NOT NULL,
	"shopify_line_id" text NOT NULL,
	"shopify_sku" text,
	"shopify_variant_id" text,
	"title" text NOT NULL,
	"shopify_quantity" integer NOT NULL,
	"unit_price" text NOT NULL,
	"erp_sku" text,
	"location" text,
	"quantity" double precision,
	"mapping_error" text,
	"erp_covered_quantity" double precision DEFAULT 0 NOT NULL,
	"pending_quantity" double precision DEFAULT 0 NOT NULL,
	"explained_quantity" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "shopify_order_lines_order_id_line_no_pk" PRIMARY KEY("order_id","line_no")
);
--> statement-breakpoint
CREATE TABLE "shopify_orders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"shop" text NOT NULL,
	"shopify_order_id" text NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"source" text NOT NULL,
	"erp_reference" text,
	"last_error" text,
	"last_error_code" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"shopify_created_at" timestamp with time zone NOT NULL,
	"shopify_updated_at" timestamp with time zone NOT NULL,
	"shopify_cancelled_at" timestamp with time zone,
	"snapshot" jsonb NOT NULL,
	"lines_digest" text,
	"submitted_digest" text,
	"create_attempted_at" timestamp with time zone,
	"submitted_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"allocated_at" timestamp with time zone,
	"allocation_checked_at" timestamp with time zone,
	"flags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_inbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"shop" text NOT NULL,
	"webhook_id" text NOT NULL,
	"event_id" text,
	"topic" text NOT NULL,
	"api_version" text,
	"triggered_at" timestamp with time zone,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"body" text NOT NULL,
	"order_ref" text,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_error" text,
	"outcome" text,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "order_returns" ADD CONSTRAINT "order_returns_order_id_shopify_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."shopify_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shopify_order_lines" ADD CONSTRAINT "shopify_order_lines_order_id_shopify_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."shopify_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "order_returns_refund_idx" ON "order_returns" USING btree ("shop","shopify_refund_id");--> statement-breakpoint
CREATE INDEX "order_returns_order_idx" ON "order_returns" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "shopify_order_lines_pending_idx" ON "shopify_order_lines" USING btree ("shop","erp_sku","location") WHERE "shopify_order_lines"."pending_quantity" > 0;--> statement-breakpoint
CREATE UNIQUE INDEX "shopify_orders_shop_order_idx" ON "shopify_orders" USING btree ("shop","shopify_order_id");--> statement-breakpoint
CREATE INDEX "shopify_orders_list_idx" ON "shopify_orders" USING btree ("shop","received_at","id");--> statement-breakpoint
CREATE INDEX "shopify_orders_status_idx" ON "shopify_orders" USING btree ("shop","status","received_at","id");--> statement-breakpoint
CREATE INDEX "shopify_orders_due_idx" ON "shopify_orders" USING btree ("next_attempt_at") WHERE "shopify_orders"."next_attempt_at" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_inbox_webhook_id_idx" ON "webhook_inbox" USING btree ("webhook_id");--> statement-breakpoint
CREATE INDEX "webhook_inbox_pending_idx" ON "webhook_inbox" USING btree ("next_attempt_at") WHERE "webhook_inbox"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "webhook_inbox_status_idx" ON "webhook_inbox" USING btree ("shop","status","id");--> statement-breakpoint
CREATE INDEX "webhook_inbox_order_idx" ON "webhook_inbox" USING btree ("shop","order_ref");