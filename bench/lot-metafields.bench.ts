/**
 * Lots metafield pushes: `stockbridge.lots` written for many variants (25 per `metafieldsSet`,
 * each guarded by its compareDigest) on a store with the Standard plan's limits (bucket 1,000
 * points, 100 points/s restored), against the simulator over loopback HTTP.
 *
 *   npx tsx bench/lot-metafields.bench.ts                      # 2,000 variants (a few seconds)
 *   LOTS_BENCH_VARIANTS=10000 npx tsx bench/lot-metafields.bench.ts   # the 10,000 of issue 14 (~40 s)
 *
 * Two passes on one store: the first writes every variant (no metafield yet); the second
 * rewrites every variant with a changed value, guarded by the digests the first answered (the
 * steady state of a catalogue whose lots all moved). Variants whose lots did not change cost no
 * call at all (the push keeps each value's digest: test/sync/lots-metafields.test.ts).
 * The ceiling is what 100 points/s allows: restore rate / cost per call × 25 variants per call.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { AdminApiShopifyClient } from '../src/shopify/admin-api-shopify-client.js';
import type { GuardedVariantMetafield, MetafieldWriteOutcome } from '../src/shopify/shopify-client.js';
import { startShopifySimulator } from '../src/simulators/shopify/index.js';
import { LOTS_METAFIELD_KEY, LOTS_METAFIELD_NAMESPACE, lotsValueOf } from '../src/sync/lots-push.js';

const VARIANTS = Number(process.env.LOTS_BENCH_VARIANTS ?? 2_000);
const PLAN = { name: 'standard (bucket 1,000, 100 points/s)', maximumAvailable: 1_000, restoreRate: 100 };
const PER_CALL = 25;

function valueFor(index: number, pass: number): string {
  const lots = Array.from({ length: 1 + (index % 4) }, (_, lot) => ({
    sku: `BENCH-${index}`,
    number: `L${pass}-${index}-${lot}`,
    location: lot % 2 === 0 ? 'WH' : 'SHOP',
    quantity: 5 + ((index + lot) % 40),
    expiresOn: lot === 3 ? null : `2027-0${1 + ((index + lot) % 9)}-1${lot}`,
  }));
  return JSON.stringify(lotsValueOf(lots, new Map([['WH', 'gid://shopify/Location/1'], ['SHOP', 'gid://shopify/Location/2']])));
}

async function main() {
  const simulator = await startShopifySimulator({ plan: { name: 'custom', maximumAvailable: PLAN.maximumAvailable, restoreRate: PLAN.restoreRate } });
  const seeded = simulator.state.seed({ locations: [{ key: 'wh', name: 'wh' }], generate: { products: VARIANTS, skuPrefix: 'BENCH-', available: 0 } });
  const client = new AdminApiShopifyClient({
    shopDomain: simulator.shopDomain,
    accessToken: simulator.accessToken,
    adminUrl: simulator.adminUrl,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  });
  const rows: Array<Record<string, unknown>> = [];
  let digests: (string | null)[] = seeded.variants.map(() => null);
  for (const pass of [1, 2]) {
    const fields: GuardedVariantMetafield[] = seeded.variants.map((variant, index) => ({
      variantId: variant.variantId,
      namespace: LOTS_METAFIELD_NAMESPACE,
      key: LOTS_METAFIELD_KEY,
      type: 'json',
      value: valueFor(index, pass),
      compareDigest: digests[index]!,
    }));
    simulator.state.clearRequestLog();
    const started = performance.now();
    const outcomes: MetafieldWriteOutcome[] = await client.writeVariantMetafields(fields);
    const seconds = (performance.now() - started) / 1000;
    digests = outcomes.map((outcome) => (outcome.status === 'applied' ? outcome.compareDigest : null));
    const log = simulator.state.requestLog();
    const calls = log.filter((entry) => entry.operationName === 'SetMetafields');
    const points = log.reduce((sum, entry) => sum + (entry.actualCost ?? 0), 0);
    const costPerCall = calls.length > 0 ? calls.reduce((sum, entry) => sum + (entry.actualCost ?? 0), 0) / calls.length : 10;
    const ceiling = (PLAN.restoreRate / costPerCall) * PER_CALL;
    rows.push({
      pass: pass === 1 ? 'first write' : 'rewrite (guarded)',
      variants: VARIANTS,
      applied: outcomes.filter((o) => o.status === 'applied').length,
      calls: calls.length,
      costPoints: points,
      costPerCall,
      throttled: log.filter((entry) => entry.throttled).length,
      seconds: Number(seconds.toFixed(2)),
      variantsPerSecond: Math.round(VARIANTS / seconds),
      ceilingVariantsPerSecond: Math.round(ceiling),
      // Bucket-limited lower bound for this many points: what is beyond the bucket, at the restore rate.
      floorSeconds: Number((Math.max(0, points - PLAN.maximumAvailable) / PLAN.restoreRate).toFixed(1)),
    });
  }
  await client.close();
  await simulator.close();

  const tenThousand = { calls: Math.ceil(10_000 / PER_CALL), points: Math.ceil(10_000 / PER_CALL) * 10 };
  process.stdout.write(`Lots metafields, ${VARIANTS} variants, plan ${PLAN.name}\n`);
  console.table(rows);
  process.stdout.write(
    `10,000 variants: ${tenThousand.calls} calls, ${tenThousand.points} cost points: from a full bucket at least ${((tenThousand.points - PLAN.maximumAvailable) / PLAN.restoreRate).toFixed(0)} s, from an empty one ${(tenThousand.points / PLAN.restoreRate).toFixed(0)} s (the ceiling: ${(PLAN.restoreRate / 10) * PER_CALL} variants/s).\n`,
  );
}

await main();
