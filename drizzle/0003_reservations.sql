CREATE TABLE "reservation_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "reservation_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"reservation_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor" text NOT NULL,
	"reason" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "reservations_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"quantity" integer NOT NULL,
	"reference" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"committed_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"erp_confirmed_at" timestamp with time zone,
	CONSTRAINT "reservations_quantity_positive" CHECK ("reservations"."quantity" > 0),
	CONSTRAINT "reservations_status_known" CHECK ("reservations"."status" in ('ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'))
);
--> statement-breakpoint
ALTER TABLE "reservation_events" ADD CONSTRAINT "reservation_events_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservation_events_reservation_idx" ON "reservation_events" USING btree ("reservation_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "reservations_idempotency_idx" ON "reservations" USING btree ("shop","created_by","idempotency_key");--> statement-breakpoint
CREATE INDEX "reservations_due_idx" ON "reservations" USING btree ("shop","expires_at") WHERE "reservations"."status" = 'ACTIVE';--> statement-breakpoint
CREATE INDEX "reservations_unconfirmed_idx" ON "reservations" USING btree ("shop","sku","location") WHERE "reservations"."status" = 'COMMITTED' and "reservations"."erp_confirmed_at" is null;--> statement-breakpoint
CREATE INDEX "reservations_position_idx" ON "reservations" USING btree ("shop","sku","location","seq");--> statement-breakpoint
CREATE INDEX "reservations_owner_idx" ON "reservations" USING btree ("shop","created_by","seq");--> statement-breakpoint
CREATE INDEX "reservations_listing_idx" ON "reservations" USING btree ("shop","seq");