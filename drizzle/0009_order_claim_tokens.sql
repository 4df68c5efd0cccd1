ALTER TABLE "order_returns" ADD COLUMN "sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shopify_orders" ADD COLUMN "lease_token" text;--> statement-breakpoint
ALTER TABLE "shopify_orders" ADD COLUMN "erp_sending" text;--> statement-breakpoint
ALTER TABLE "shopify_orders" ADD COLUMN "erp_sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "shopify_orders" ADD COLUMN "create_sent_at" timestamp with time zone;