CREATE TABLE "privacy_requests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"shop" text NOT NULL,
	"topic" text NOT NULL,
	"webhook_id" text NOT NULL,
	"shopify_customer_id" text,
	"customer_email" text,
	"order_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"data_request_id" text,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"outcome" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "shopify_orders" ADD COLUMN "redacted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "webhook_inbox" ADD COLUMN "redacted_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "privacy_requests_webhook_id_idx" ON "privacy_requests" USING btree ("webhook_id");--> statement-breakpoint
CREATE INDEX "privacy_requests_pending_idx" ON "privacy_requests" USING btree ("received_at") WHERE "privacy_requests"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "shopify_orders_retention_idx" ON "shopify_orders" USING btree ("received_at") WHERE "shopify_orders"."redacted_at" is null;--> statement-breakpoint
-- Deliveries stored before this migration may share an event id (two subscriptions to one topic); the first keeps it, so the unique index can be built.
UPDATE "webhook_inbox" AS w SET "event_id" = NULL FROM (SELECT "id", row_number() OVER (PARTITION BY "shop", "topic", "event_id" ORDER BY "id") AS n FROM "webhook_inbox" WHERE "event_id" IS NOT NULL) AS d WHERE w."id" = d."id" AND d.n > 1;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_inbox_event_idx" ON "webhook_inbox" USING btree ("shop","topic","event_id") WHERE "webhook_inbox"."event_id" is not null;--> statement-breakpoint
CREATE INDEX "webhook_inbox_retention_idx" ON "webhook_inbox" USING btree ("received_at") WHERE "webhook_inbox"."redacted_at" is null;