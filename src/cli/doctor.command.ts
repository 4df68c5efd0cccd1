import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import type { ErpConnector } from '../erp/erp-connector.js';
import { composeModuleDeps } from '../gateway.js';
import { createInventoryModule } from '../inventory/inventory.module.js';
import { createLogger, type Logger } from '../logger.js';
import { createWebhookSubscriptionService, webhookAddressOf } from '../orders/webhook-subscriptions.service.js';
import { isAppError } from '../shared/errors.js';
import type { ModuleDeps } from '../domain-module.js';
import { missingScopes } from '../shopify-app/access-scopes.js';
import { readGrantedScopes } from '../shopify/credentials/granted-scopes.js';
import { booleanOption, defineCommand } from './command.js';
import { switchesOver } from './switches.command.js';

/**
 * `doctor [--json]`: the go-live check. One line per check, each `ok`, `warn` (works, but look)
 * or `FAIL` (blocks going live), and exit code 0 only when nothing fails. Checks, in order:
 * configuration, database and migrations, ERP login and a sample read, Shopify token and
 * granted scopes, API version, location mapping (every active Shopify location that fulfils
 * online orders has an ERP source), SKU mapping coverage (with the worst offenders), webhook
 * subscriptions at PUBLIC_URL, clock skew against Shopify's and the ERP's Date headers, and the
 * go-live switches. A check that cannot run because an earlier one failed says so.
 *
 * It writes nothing to Shopify or the ERP; on a database never used it fills the catalogue and
 * the mappings as the gateway's first start would (reads only), so the mapping checks have
 * something to look at.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly checks: DoctorCheck[];
}

/** Clock skew beyond which HMAC timestamps and token expiry go wrong (fail) or deserve a look (warn). */
const SKEW_WARN_MS = 30_000;
const SKEW_FAIL_MS = 5 * 60_000;
/** Offenders listed per mapping problem. */
const WORST_OFFENDERS = 5;

export interface DoctorOptions {
  /** An open, migrated-or-not database (tests); default: the configured one, opened here. */
  database?: Database;
  /** An ERP connector instead of the configured one (tests). */
  erp?: ErpConnector;
  log?: Logger;
  now?: () => Date;
}

const describe = (error: unknown) => (isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error));

export async function runDoctor(env: Record<string, string | undefined>, options: DoctorOptions = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, status: CheckStatus, message: string, details?: Record<string, unknown>) => checks.push({ name, status, message, ...(details ? { details } : {}) });
  const skipped = (names: string[], because: string) => {
    for (const name of names) add(name, 'fail', `not checked: ${because}`);
  };
  const now = options.now ?? (() => new Date());
  const log = options.log ?? createLogger('silent');

  // 1. configuration
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    const problems = error instanceof ConfigError ? error.problems : [describe(error)];
    add('configuration', 'fail', problems.join('; '), { problems });
    skipped(['database', 'erp', 'shopify token', 'api version', 'location mapping', 'sku mapping', 'webhooks', 'clock', 'switches'], 'the configuration is invalid');
    return { ok: false, checks };
  }
  const configNotes: string[] = [];
  let configStatus: CheckStatus = 'ok';
  if (!config.shopify.shop || config.demo) {
    configStatus = 'fail';
    configNotes.push(config.demo ? 'DEMO=1: the simulated store and ERP, not a real store' : 'no SHOPIFY_SHOP: the demo, not a real store');
  }
  if (!config.publicUrl) {
    configStatus = configStatus === 'fail' ? 'fail' : 'warn';
    configNotes.push('PUBLIC_URL is not set: Shopify cannot deliver webhooks (orders arrive only through the poll)');
  }
  if (config.shopify.grant === 'static' && !config.encryptionKey) configNotes.push('static token (SHOPIFY_ACCESS_TOKEN); no ENCRYPTION_KEY (nothing stored to encrypt)');
  add(
    'configuration',
    configStatus,
    [`shop ${config.shopify.shop ?? '(demo)'}, ERP ${config.erp.connector}, token by ${config.shopify.grant}, API ${config.shopify.apiVersion}`, ...configNotes].join('; '),
  );

  // 2. database and migrations
  let database: Database | undefined = options.database;
  const ownsDatabase = !database;
  try {
    database ??= await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    await database.ping();
    if (!(await database.migrationsApplied())) {
      add('database', 'fail', `${database.kind} reachable, but migrations are missing: run \`npm run cli -- migrate\``);
      skipped(['erp', 'shopify token', 'api version', 'location mapping', 'sku mapping', 'webhooks', 'clock', 'switches'], 'the database is not migrated');
      return { ok: false, checks };
    }
    add('database', 'ok', `${database.kind} reachable, every migration applied`);
  } catch (error) {
    add('database', 'fail', `unreachable: ${describe(error)}`);
    skipped(['erp', 'shopify token', 'api version', 'location mapping', 'sku mapping', 'webhooks', 'clock', 'switches'], 'the database is unreachable');
    if (ownsDatabase) await database?.close().catch(() => undefined);
    return { ok: false, checks };
  }

  let composed: Awaited<ReturnType<typeof composeModuleDeps>> | undefined;
  try {
    try {
      composed = await composeModuleDeps(config, log, database, { erp: options.erp });
    } catch (error) {
      add('erp', 'fail', `the adapters could not be built: ${describe(error)}`);
      skipped(['shopify token', 'api version', 'location mapping', 'sku mapping', 'webhooks', 'clock', 'switches'], 'the adapters could not be built');
      return { ok: false, checks };
    }
    const deps = composed.deps;
    const skews: Array<{ system: string; skewMs: number }> = [];

    // 3. ERP login and a sample read
    let erpOk = false;
    try {
      const [locations, products] = await Promise.all([deps.erp.listLocations(), deps.erp.listProducts({ limit: 1 })]);
      erpOk = true;
      add('erp', 'ok', `${config.erp.connector}: logged in; ${locations.length} locations, sample product ${products.items[0]?.sku ?? '(none)'}`);
      if (config.erp.url) {
        const erpDate = await dateHeaderOf(config.erp.url);
        if (erpDate) skews.push({ system: 'ERP', skewMs: erpDate.getTime() - now().getTime() });
      }
    } catch (error) {
      add('erp', 'fail', `${config.erp.connector} at ${config.erp.url ?? '(simulated)'}: ${describe(error)}`);
    }

    // 4 and 5. Shopify token, granted scopes, API version
    const switches = deps.switches ?? switchesOver(database, deps.shop);
    const state = await switches.state();
    let shopifyOk = false;
    try {
      const reading = await readGrantedScopes({
        tokens: deps.credentials!.tokens,
        shop: deps.shop,
        adminUrl: deps.credentials!.adminBaseUrl,
        apiVersion: config.shopify.apiVersion,
        alwaysQuery: true,
      });
      if (reading.serverDate) skews.push({ system: 'Shopify', skewMs: reading.serverDate.getTime() - now().getTime() });
      if (!reading.versionServed) {
        add('shopify token', 'fail', `the token could not be checked: Shopify does not serve API version ${config.shopify.apiVersion}`);
        add('api version', 'fail', `Shopify answers 404 for ${config.shopify.apiVersion}: set SHOPIFY_API_VERSION to a supported version`);
      } else {
        shopifyOk = true;
        const missing = missingScopes(reading.scopes, { inventoryPush: state.inventoryPush });
        if (missing.length > 0) {
          add(
            'shopify token',
            'fail',
            `token accepted, missing scopes: ${missing.map((need) => `${need.scope} (${need.feature})`).join('; ')}. Add them in shopify.app.toml, deploy the app and install it again`,
            { granted: reading.scopes, missing: missing.map((need) => need.scope) },
          );
        } else {
          add('shopify token', 'ok', `${deps.credentials!.tokens.kind} token accepted by ${deps.shop}; scopes ${reading.scopes.join(', ')}`, { granted: reading.scopes });
        }
        if (reading.servedVersion && reading.servedVersion !== config.shopify.apiVersion) {
          add('api version', 'fail', `asked for ${config.shopify.apiVersion}, Shopify answered with ${reading.servedVersion}: the version is no longer supported; move SHOPIFY_API_VERSION on`);
        } else {
          add('api version', 'ok', `${config.shopify.apiVersion} served`);
        }
      }
    } catch (error) {
      add('shopify token', 'fail', describe(error));
      add('api version', 'fail', 'not checked: no working token');
    }

    // 6 and 7. mappings (the catalogue filled first when this database never read it)
    if (erpOk && shopifyOk) {
      await checkMappings(deps, add);
    } else {
      skipped(['location mapping', 'sku mapping'], erpOk ? 'Shopify is not reachable with the token' : 'the ERP is not reachable');
    }

    // 8. webhooks
    if (!shopifyOk) add('webhooks', 'fail', 'not checked: no working token');
    else if (!config.publicUrl) add('webhooks', 'fail', 'PUBLIC_URL is not set: there is no address to check the subscriptions against');
    else {
      try {
        const address = webhookAddressOf(config.publicUrl);
        const health = await createWebhookSubscriptionService({ shopify: deps.shopify, log }).status(address);
        if (health.healthy) add('webhooks', 'ok', `${health.present.length} subscriptions deliver to ${address}`);
        else {
          const elsewhere = health.elsewhere.map((other) => `${other.topic} → ${other.uri}`);
          add(
            'webhooks',
            'fail',
            `not subscribed at ${address}: ${health.missing.join(', ')}${elsewhere.length > 0 ? `; subscriptions point elsewhere: ${elsewhere.join(', ')}` : ''}. Run \`npm run cli -- webhooks register\``,
            { missing: health.missing, elsewhere: health.elsewhere },
          );
        }
      } catch (error) {
        add('webhooks', 'fail', describe(error));
      }
    }

    // 9. clock skew
    if (skews.length === 0) add('clock', 'warn', 'no Date header to compare with (neither Shopify nor the ERP answered)');
    else {
      const worst = skews.reduce((a, b) => (Math.abs(b.skewMs) > Math.abs(a.skewMs) ? b : a));
      const text = skews.map((s) => `${s.system} ${s.skewMs >= 0 ? '+' : ''}${(s.skewMs / 1000).toFixed(0)} s`).join(', ');
      const status: CheckStatus = Math.abs(worst.skewMs) > SKEW_FAIL_MS ? 'fail' : Math.abs(worst.skewMs) > SKEW_WARN_MS ? 'warn' : 'ok';
      add('clock', status, `${text} from this machine${status === 'ok' ? '' : ': fix the machine clock (NTP); install callbacks and token expiry depend on it'}`);
    }

    // 10. switches
    add(
      'switches',
      state.shopInstalled ? 'ok' : 'fail',
      state.shopInstalled
        ? `inventory push ${state.inventoryPush}, orders to ERP ${state.ordersToErp}`
        : `the Shopify app is uninstalled from ${deps.shop}: nothing is pushed or sent until it is installed again`,
      { inventoryPush: state.inventoryPush, ordersToErp: state.ordersToErp, shopInstalled: state.shopInstalled },
    );
    return { ok: checks.every((check) => check.status !== 'fail'), checks };
  } finally {
    await composed?.close().catch(() => undefined);
    if (ownsDatabase) await database.close().catch(() => undefined);
  }
}

async function checkMappings(deps: ModuleDeps, add: (name: string, status: CheckStatus, message: string, details?: Record<string, unknown>) => void): Promise<void> {
  const inventory = createInventoryModule(deps);
  try {
    const fills = await inventory.services.catalogueFills();
    if (!fills.erpFilledAt || !fills.shopifyFilledAt) {
      await inventory.start();
      await inventory.services.whenReady();
    }
    try {
      const [shopifyLocations, mappings] = await Promise.all([deps.shopify.listLocations(), inventory.services.mapping.listLocationMappings()]);
      const sourced = new Set(mappings.map((mapping) => mapping.shopifyLocationId));
      const online = shopifyLocations.filter((location) => location.isActive && location.fulfillsOnlineOrders);
      const unsourced = online.filter((location) => !sourced.has(location.id));
      if (unsourced.length > 0) {
        add(
          'location mapping',
          'fail',
          `Shopify locations that fulfil online orders without an ERP source: ${unsourced.map((l) => `${l.name} (${l.id})`).join(', ')}. Map each with the mapLocation mutation`,
          { unmapped: unsourced.map((l) => ({ id: l.id, name: l.name })) },
        );
      } else {
        add('location mapping', 'ok', `${online.length} online-fulfilling Shopify locations, each fed by an ERP location (${mappings.length} mappings)`);
      }
    } catch (error) {
      add('location mapping', 'fail', describe(error));
    }
    try {
      const report = await inventory.services.mapping.getMappingReport({ limit: WORST_OFFENDERS });
      const { counts } = report;
      const total = counts.mapped + counts.unmappedErpSkus + counts.ambiguous;
      const coverage = total === 0 ? 0 : counts.mapped / total;
      const worst = [
        ...report.ambiguous.slice(0, WORST_OFFENDERS).map((a) => `ambiguous ${a.erpSku} (${a.reason}, ${a.candidates.length} candidates)`),
        ...report.unmappedErpSkus.slice(0, WORST_OFFENDERS).map((sku) => `unmapped ERP ${sku}`),
      ];
      const text = `${counts.mapped} mapped (${(coverage * 100).toFixed(1)}% of ERP SKUs), ${counts.ambiguous} ambiguous, ${counts.unmappedErpSkus} ERP SKUs not in Shopify, ${counts.unmappedShopifySkus} Shopify variants without an ERP SKU`;
      const status: CheckStatus = counts.mapped === 0 ? 'fail' : counts.ambiguous > 0 || counts.unmappedErpSkus > 0 ? 'warn' : 'ok';
      add('sku mapping', status, `${text}${worst.length > 0 ? `; worst: ${worst.join('; ')}` : ''}`, { counts, worst });
    } catch (error) {
      add('sku mapping', 'fail', describe(error));
    }
  } finally {
    await inventory.stop();
  }
}

async function dateHeaderOf(url: string): Promise<Date | null> {
  try {
    const response = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(5_000) });
    await response.body?.cancel();
    const date = response.headers.get('date');
    return date ? new Date(date) : null;
  } catch {
    return null;
  }
}

export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const lines = report.checks.map((check) => `${check.status === 'fail' ? 'FAIL' : check.status.padEnd(4)}  ${check.name.padEnd(width)}  ${check.message}`);
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  lines.push(report.ok ? 'ready to go live: nothing blocks' : `${failed} check${failed === 1 ? '' : 's'} block going live`);
  return `${lines.join('\n')}\n`;
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  usage: 'doctor [--json]',
  summary: 'the go-live check: configuration, database, ERP, Shopify token and scopes, API version, mappings, webhooks, clock, switches (exit 0 only when nothing blocks)',
  description: `Each check prints ok, warn or FAIL with what to do. Exit 0 only when nothing blocks going live,
1 otherwise. --json prints the same report as one JSON document (for scripts and monitoring).`,
  examples: ['doctor', 'doctor --json'],
  options: { json: { type: 'boolean', description: 'print the report as JSON' } },
  async run(args, io) {
    const log = createLogger(io.env.LOG_LEVEL === 'debug' || io.env.LOG_LEVEL === 'trace' ? io.env.LOG_LEVEL : 'silent', io.stderr);
    const report = await runDoctor(io.env, { log });
    io.stdout.write(booleanOption(args, 'json') ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    return report.ok ? 0 : 1;
  },
});
