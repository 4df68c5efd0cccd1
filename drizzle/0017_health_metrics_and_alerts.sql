CREATE TABLE "alerts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"code" text NOT NULL,
	"severity" text NOT NULL,
	"message" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"resolved_at" timestamp with time zone,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" text,
	CONSTRAINT "alerts_key_unique" UNIQUE("key")
);
--> statement-breakpoint
CREATE TABLE "health_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"ok" boolean NOT NULL,
	"latency_seconds" double precision,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "oversell_incidents" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"order_id" text,
	"source" text NOT NULL,
	"units" double precision NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "oversell_incidents_key_unique" UNIQUE("key")
);
--> statement-breakpoint
CREATE INDEX "alerts_open_idx" ON "alerts" USING btree ("id") WHERE "alerts"."acknowledged_at" is null and "alerts"."resolved_at" is null;--> statement-breakpoint
CREATE INDEX "health_samples_at_idx" ON "health_samples" USING btree ("at");--> statement-breakpoint
CREATE INDEX "oversell_incidents_at_idx" ON "oversell_incidents" USING btree ("at");