import { z } from 'zod';

/**
 * The catalogue a simulated shop starts from: the JSON of `simulate-shopify --seed FILE`,
 * `POST /_simulator/seed` and `state.seed()`. Locations are referred to by `key` (or name)
 * inside the file; Shopify assigns ids. `generate` adds a synthetic catalogue for benchmarks.
 * See README.md in this folder for an example.
 */

const quantity = z.number().int().min(-1_000_000_000).max(1_000_000_000);

const levelQuantities = z.union([
  quantity,
  z
    .object({
      available: quantity.default(0),
      committed: quantity.optional(),
      reserved: quantity.optional(),
      incoming: quantity.optional(),
      damaged: quantity.optional(),
      safety_stock: quantity.optional(),
      quality_control: quantity.optional(),
    })
    .strict(),
]);

const money = z.union([z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a decimal such as "19.99"'), z.number().nonnegative()]).transform((value) => Number(value).toFixed(2));

export const seedMetafieldSchema = z.object({
  namespace: z.string().min(1),
  key: z.string().min(1),
  type: z.string().min(1).default('single_line_text_field'),
  value: z.string(),
});

export const seedVariantSchema = z
  .object({
    sku: z.string().nullable().default(null),
    title: z.string().min(1).default('Default Title'),
    price: money.default('10.00'),
    barcode: z.string().nullable().default(null),
    inventoryPolicy: z.enum(['DENY', 'CONTINUE']).default('DENY'),
    tracked: z.boolean().default(true),
    /** A bundle parent: Shopify refuses to set its quantities (`NON_MUTABLE_INVENTORY_ITEM`). */
    bundle: z.boolean().default(false),
    requiresShipping: z.boolean().default(true),
    /** Quantities per location key: a number is `available`. */
    levels: z.record(z.string(), levelQuantities).default({}),
    metafields: z.array(seedMetafieldSchema).default([]),
  })
  .strict();

export const seedProductSchema = z
  .object({
    title: z.string().min(1),
    handle: z.string().min(1).optional(),
    vendor: z.string().default('Stockbridge Simulated'),
    productType: z.string().default(''),
    status: z.enum(['ACTIVE', 'DRAFT', 'ARCHIVED']).default('ACTIVE'),
    tags: z.array(z.string()).default([]),
    variants: z.array(seedVariantSchema).min(1),
  })
  .strict();

export const seedLocationSchema = z
  .object({
    /** How the rest of the seed (and orders placed by key) refer to this location; defaults to its name. */
    key: z.string().min(1).optional(),
    name: z.string().min(1),
    isActive: z.boolean().default(true),
    fulfillsOnlineOrders: z.boolean().default(true),
    shipsInventory: z.boolean().default(true),
    city: z.string().nullable().default(null),
    countryCode: z.string().length(2).nullable().default(null),
  })
  .strict();

export const seedGenerateSchema = z
  .object({
    products: z.number().int().min(1).max(1_000_000),
    variantsPerProduct: z.number().int().min(1).max(100).default(1),
    skuPrefix: z.string().default('SIM-'),
    /** Location keys that stock every generated item; default every location of the seed. */
    locations: z.array(z.string()).optional(),
    available: quantity.default(0),
    inventoryPolicy: z.enum(['DENY', 'CONTINUE']).default('DENY'),
  })
  .strict();

export const shopSeedSchema = z
  .object({
    shop: z
      .object({
        name: z.string().min(1).optional(),
        currency: z.string().length(3).optional(),
      })
      .strict()
      .optional(),
    locations: z.array(seedLocationSchema).default([]),
    products: z.array(seedProductSchema).default([]),
    generate: seedGenerateSchema.optional(),
  })
  .strict();

export type ShopSeed = z.input<typeof shopSeedSchema>;
export type ParsedShopSeed = z.output<typeof shopSeedSchema>;
export type SeedProduct = z.input<typeof seedProductSchema>;
export type SeedVariant = z.input<typeof seedVariantSchema>;
export type SeedLocation = z.input<typeof seedLocationSchema>;

/** What seeding created, with Shopify gids, so callers can address it. */
export interface SeedResult {
  locations: { key: string; name: string; id: string }[];
  variants: { sku: string | null; productId: string; variantId: string; inventoryItemId: string }[];
}
