CREATE TABLE "reservation_lines" (
	"reservation_id" uuid NOT NULL,
	"line" integer NOT NULL,
	"shop" text NOT NULL,
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"quantity" integer NOT NULL,
	"status" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"committed_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"erp_confirmed_at" timestamp with time zone,
	CONSTRAINT "reservation_lines_reservation_id_line_pk" PRIMARY KEY("reservation_id","line"),
	CONSTRAINT "reservation_lines_quantity_positive" CHECK ("reservation_lines"."quantity" > 0),
	CONSTRAINT "reservation_lines_line_positive" CHECK ("reservation_lines"."line" > 0),
	CONSTRAINT "reservation_lines_status_known" CHECK ("reservation_lines"."status" in ('ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'))
);
--> statement-breakpoint
ALTER TABLE "reservation_events" ADD COLUMN "lines" integer[];--> statement-breakpoint
ALTER TABLE "reservation_lines" ADD CONSTRAINT "reservation_lines_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservation_lines_counting_idx" ON "reservation_lines" USING btree ("shop","sku","location") WHERE "reservation_lines"."status" = 'ACTIVE' or ("reservation_lines"."status" = 'COMMITTED' and "reservation_lines"."erp_confirmed_at" is null);--> statement-breakpoint
CREATE INDEX "reservation_lines_position_idx" ON "reservation_lines" USING btree ("shop","sku","location","reservation_id");--> statement-breakpoint
INSERT INTO "reservation_lines" ("reservation_id", "line", "shop", "sku", "location", "quantity", "status", "updated_at", "committed_at", "closed_at", "erp_confirmed_at")
SELECT "id", 1, "shop", "sku", "location", "quantity", "status", "updated_at", "committed_at", "closed_at", "erp_confirmed_at" FROM "reservations";
