import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The operations console in the machine's Chromium (playwright-core, no browser download): the
 * built console served by a whole demo gateway, driven as an operator would. Without a Chromium
 * (`apt-get install -y chromium`) the suite is skipped, saying so.
 */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) process.stderr.write(`console browser tests skipped: no Chromium at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM_PATH)\n`);
const screenshots = new URL('../output/console/', import.meta.url).pathname;
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown }>;
}

/** axe-core injected in the page: the violations that are serious or critical. */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run()).violations;
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

async function checkPage(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });
  const violations = await seriousViolations(page);
  expect(violations.map((violation) => `${violation.id}: ${violation.help} at ${JSON.stringify(violation.nodes.map((node) => node.target))}`), `axe on ${name}`).toEqual([]);
}

describe.skipIf(!haveChromium)('operations console in Chromium', () => {
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;
  let key: string;

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    gateway = await startTestGateway();
    key = await gateway.createKey(['read', 'sync', 'reserve', 'admin']);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
    // bypassCSP: the console's policy forbids injected scripts, and axe-core is injected to check it.
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    page.setDefaultTimeout(15_000);
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
  });

  const base = () => gateway.graphqlUrl.replace(/\/graphql$/, '');

  it('signs in with an API key kept in session storage and shows the overview', async () => {
    // Stockbridge's own samples for the charts and metrics: two pushes (40 s and 50 s from the ERP
    // change to Shopify), one failed push, and an oversell incident, which breaches its threshold
    // (0 a day) and raises an alert.
    const now = new Date();
    await gateway.services.health.recordPushOutcomes([
      { ok: true, changeSeenAt: new Date(now.getTime() - 40_000), confirmedAt: now },
      { ok: true, changeSeenAt: new Date(now.getTime() - 50_000), confirmedAt: now },
      { ok: false, changeSeenAt: null, confirmedAt: now },
    ]);
    await gateway.services.health.recordOversell({ sku: 'CONSOLE-OVERSOLD', location: 'WH', orderId: null, units: 1, source: 'SHOPIFY_NEGATIVE_AVAILABLE', occurrence: 'console-test' });
    await page.goto(`${base()}/console`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Last sync runs' }).count()).toBe(1);
    await expect.poll(() => page.getByRole('heading', { name: 'Switches' }).count()).toBe(1);
    const storage = await page.evaluate(() => {
      const scope = globalThis as unknown as { sessionStorage: { length: number }; localStorage: { length: number } };
      return [scope.sessionStorage.length, scope.localStorage.length];
    });
    expect(storage).toEqual([1, 0]);

    // The four success metrics, each with its threshold and status.
    const metrics = page.getByRole('region', { name: 'Success metrics' });
    const metricRow = (name: string) => metrics.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${name}`) }) });
    await expect.poll(() => metricRow('Oversell incidents').textContent()).toMatch(/Oversell incidents.*1at most 0last 24 hoursBreached/);
    expect(await metricRow('Sync latency').textContent()).toMatch(/50 sat most 300 slast hourOK/);
    expect(await metricRow('Error rate').textContent()).toMatch(/1 failed of 3 .*33\.3 %at most 0\.10 %last hourBreached/);
    expect(await metricRow('Manual interventions').textContent()).toMatch(/at most 5last 7 days(OK|Breached)/);

    // The charts: 24 hourly buckets from the samples, the last one holding this test's pushes.
    const pushed = page.getByRole('img', { name: /^Items pushed:/ });
    const buckets = async () => (await pushed.getAttribute('aria-label'))!.replace(/^Items pushed: /, '').split(', ');
    expect(await buckets()).toHaveLength(24);
    expect((await buckets()).at(-1)).toMatch(/ 2$/);
    expect((await page.getByRole('img', { name: /^Errors/ }).getAttribute('aria-label'))!).toMatch(/ 1$/);
    expect((await page.getByRole('img', { name: /^Sync latency/ }).getAttribute('aria-label'))!).toMatch(/ 49\.9$/);

    // The open alerts, acknowledged in place.
    const alerts = page.getByRole('region', { name: 'Open alerts' });
    await expect.poll(() => alerts.getByRole('rowheader', { name: /^OVERSELL / }).count()).toBe(1);
    await checkPage(page, 'overview');
    await page.getByLabel('Period').selectOption('7d');
    expect(await buckets()).toHaveLength(7);
    expect((await buckets()).at(-1)).toMatch(/ 2$/);
    await alerts.getByRole('button', { name: 'Acknowledge OVERSELL' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Alert acknowledgement' }).textContent()).toBe('OVERSELL acknowledged');
    await expect.poll(() => alerts.getByRole('rowheader', { name: /^OVERSELL / }).count()).toBe(0);
  });

  it('finds a SKU and reads its ATP terms per location', async () => {
    const sku = gateway.demo!.shopify.state.levels()[0]!.sku!;
    await page.goto(`${base()}/console/#/inventory`);
    await page.getByLabel('SKU', { exact: true }).fill(sku);
    await page.getByRole('button', { name: 'Find' }).click();
    const table = page.getByRole('region', { name: 'Available to promise per location' });
    await expect.poll(() => table.getByRole('columnheader', { name: 'ATP', exact: true }).count()).toBe(1);
    expect(await table.getByRole('row').count()).toBeGreaterThan(1);
    await page.getByRole('button', { name: 'Dry-run push' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Push result' }).textContent()).toMatch(/Dry run SUCCEEDED/);
    await checkPage(page, 'inventory');
  });

  it('replays a failed order and a waiting one together, and the failed one reaches the ERP', async () => {
    type Found = { data: { order: { name: string; status: string; lastErrorCode: string | null } | null } };
    const orderOf = async (id: string) => (await gateway.graphql<Found>(key, 'query($id: ID!) { order(id: $id) { name status lastErrorCode } }', { id })).body.data.order;
    // The ERP refuses the sale: the order is FAILED with ERP_REJECTED until someone replays it.
    const level = gateway.demo!.shopify.state.levels().find((candidate) => candidate.sku && candidate.quantities.available >= 5 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku));
    gateway.demo!.erp.fail({ mode: 'reject', methods: ['sale.create'] });
    const failed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: level!.sku!, quantity: 1 }] });
    if (!failed.placed) throw new Error('the demo store refused the order');
    await expect.poll(async () => (await orderOf(failed.order.id))?.status, { timeout: 30_000 }).toBe('FAILED');
    gateway.demo!.erp.recover();
    // This line matches no ERP SKU: the order waits with its reason, which the console lists too.
    const waiting = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: 'MERCH-TSHIRT-M', quantity: 1 }] });
    if (!waiting.placed) throw new Error('the demo store refused the order');
    await expect.poll(async () => (await orderOf(waiting.order.id))?.lastErrorCode, { timeout: 30_000 }).toBe('UNMAPPED_LINE');
    const failedName = (await orderOf(failed.order.id))!.name;
    const waitingName = (await orderOf(waiting.order.id))!.name;

    await page.goto(`${base()}/console/#/orders`);
    const region = page.getByRole('region', { name: 'Orders needing attention' });
    const row = (name: string) => region.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
    await expect.poll(() => row(failedName).textContent()).toMatch(/FAILED.*ERP_REJECTED/);
    expect(await row(waitingName).textContent()).toContain('UNMAPPED_LINE');
    await checkPage(page, 'orders');

    // Replay many: both selected, one replayOrder each, each outcome on its line.
    await region.getByRole('checkbox', { name: `Select ${failedName}` }).check();
    await region.getByRole('checkbox', { name: `Select ${waitingName}` }).check();
    await region.getByRole('button', { name: 'Replay selected (2)' }).click();
    const results = page.getByRole('status', { name: 'Replay results' });
    await expect.poll(() => results.getByRole('listitem').allTextContents()).toEqual([expect.stringMatching(new RegExp(`^${failedName}: [A-Z_]+`)), expect.stringMatching(new RegExp(`^${waitingName}: [A-Z_]+`))]);
    // The failed order now reaches the ERP, once, and leaves the list; the waiting one waits on.
    await expect.poll(async () => (await orderOf(failed.order.id))?.status, { timeout: 30_000 }).toBe('SUBMITTED');
    expect(gateway.demo!.erp.countSalesOrders(failed.order.id)).toBe(1);
    await page.reload();
    await expect.poll(() => row(waitingName).count()).toBe(1);
    expect(await row(failedName).count()).toBe(0);
  });

  it('maps an unmapped SKU in place, sees it pushed, and unmaps it', async () => {
    await page.goto(`${base()}/console/#/mapping`);
    const unmapped = page.getByRole('region', { name: 'Unmapped ERP SKUs' });
    await expect.poll(() => page.getByRole('region', { name: 'Locations' }).count()).toBe(1);
    const mapButton = unmapped.getByRole('button', { name: /^Map / }).first();
    // The demo catalogue has ERP SKUs that match no Shopify variant by spelling: one is mapped here.
    await expect.poll(() => mapButton.count()).toBe(1);
    const label = (await mapButton.textContent())!;
    const erpSku = label.replace(/^Map /, '');
    await mapButton.click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain(`${erpSku} mapped`);
    await page.goto(`${base()}/console/#/inventory`);
    await page.getByLabel('SKU', { exact: true }).fill(erpSku);
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByRole('button', { name: 'Push now' }).click();
    await expect.poll(() => page.getByRole('status', { name: 'Push result' }).textContent()).toMatch(/Push SUCCEEDED/);
    await page.goto(`${base()}/console/#/mapping`);
    await expect.poll(() => page.getByRole('region', { name: 'Locations' }).count()).toBe(1);
    await checkPage(page, 'mapping');
    // The mapping made by hand is listed and can be undone in place.
    await page.getByRole('region', { name: 'Manual mappings' }).getByRole('button', { name: `Unmap ${erpSku}` }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain(`${erpSku} unmapped`);
  });

  it('runs a job now and shows the run', async () => {
    await page.goto(`${base()}/console/#/jobs`);
    const run = page.getByRole('button', { name: /^Run .* now$/ }).first();
    await expect.poll(() => run.count()).toBe(1);
    const job = (await run.textContent())!.replace(/^Run (.*) now$/, '$1');
    await run.click();
    await expect.poll(() => page.getByRole('status', { name: 'Run result' }).textContent(), { timeout: 30_000 }).toContain(`${job}: `);
    await checkPage(page, 'jobs');
  });

  it('lists active reservations with their expiry, filtered by SKU, reference and API key', async () => {
    // Two keys hold units of one demo SKU under different references.
    const products = await gateway.graphql<{ data: { products: { edges: Array<{ node: { sku: string; availability: Array<{ location: { code: string }; availableToPromise: number }> } }> } } }>(
      key,
      '{ products(first: 50) { edges { node { sku availability { location { code } availableToPromise } } } } }',
    );
    const position = products.body.data.products.edges
      .flatMap((edge) => edge.node.availability.map((row) => ({ sku: edge.node.sku, location: row.location.code, atp: row.availableToPromise })))
      .find((row) => row.atp >= 3);
    if (!position) throw new Error('the demo catalogue has no position with 3 units to promise');
    const wholesale = await gateway.createKey(['read', 'reserve']);
    const reserve = async (by: string, reference: string) => {
      const answer = await gateway.graphql<{ data: { reserveInventory: { __typename: string } } }>(
        by,
        'mutation($input: ReserveInventoryInput!) { reserveInventory(input: $input) { __typename } }',
        { input: { sku: position.sku, location: position.location, quantity: 1, reference, idempotencyKey: `console-${reference}`, ttlSeconds: 3600 } },
      );
      expect(answer.body.data.reserveInventory.__typename).toBe('Reservation');
    };
    await reserve(key, 'PO-CONSOLE-1');
    await reserve(wholesale, 'PO-CONSOLE-2');

    await page.goto(`${base()}/console/#/reservations`);
    const region = page.getByRole('region', { name: 'Active reservations' });
    const references = () => region.getByRole('rowheader').allTextContents();
    await expect.poll(references).toEqual(['PO-CONSOLE-2', 'PO-CONSOLE-1']);
    expect(await region.getByRole('row').filter({ hasText: 'PO-CONSOLE-1' }).textContent()).toContain(`${position.sku} @ ${position.location} × 1`);
    expect(await region.getByRole('row').filter({ hasText: 'PO-CONSOLE-1' }).locator('time').count()).toBe(2);
    await checkPage(page, 'reservations');

    const filter = async () => {
      await page.getByRole('button', { name: 'Filter', exact: true }).click();
    };
    await page.getByLabel('Reference').fill('PO-CONSOLE-1');
    await filter();
    await expect.poll(references).toEqual(['PO-CONSOLE-1']);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(references).toEqual(['PO-CONSOLE-2', 'PO-CONSOLE-1']);

    // The API key filter names the keys (this admin key lists them); the wholesale key's reservation only.
    const option = page.locator('#reservation-key option', { hasText: /^test read,reserve \(/ });
    await page.getByLabel('API key', { exact: true }).selectOption((await option.getAttribute('value'))!);
    await filter();
    await expect.poll(references).toEqual(['PO-CONSOLE-2']);
    expect(await region.getByRole('row').filter({ hasText: 'PO-CONSOLE-2' }).textContent()).toContain('test read,reserve (');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('SKU', { exact: true }).fill(`${position.sku}-NONE`);
    await filter();
    await expect.poll(() => region.getByText('No active reservation matches these filters.').count()).toBe(1);
    await page.getByLabel('SKU', { exact: true }).fill(position.sku);
    await filter();
    await expect.poll(references).toEqual(['PO-CONSOLE-2', 'PO-CONSOLE-1']);
    const violations = await seriousViolations(page);
    expect(violations.map((violation) => violation.id)).toEqual([]);
  });
});
