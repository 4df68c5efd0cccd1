/** The Black Friday simulation's settings (flags of `simulate black-friday`) and its fault names. */

export const FAULT_NAMES = [
  'webhook-loss',
  'webhook-duplication',
  'webhook-reorder',
  'shopify-throttle',
  'shopify-dropped-answers',
  'erp-outage',
  'erp-slow',
  'instance-kill',
  'db-cut',
] as const;

export type FaultName = (typeof FAULT_NAMES)[number];

export interface BlackFridayOptions {
  readonly ordersPerMinute: number;
  readonly minutes: number;
  readonly instances: number;
  readonly faults: readonly FaultName[];
  readonly faultMode: 'script' | 'random';
  readonly seed: number;
  /** Longest wait, after the load, for every order to reach the ERP and Shopify to equal the ATP. */
  readonly settleSeconds: number;
  readonly reportDir: string;
  /** PostgreSQL server the run makes its own database on; absent: PGlite (one instance only). */
  readonly databaseUrl: string | undefined;
  readonly keepDatabase: boolean;
  /** Products in the catalogue (a tenth of them hot). */
  readonly skus: number;
  /** Interval of the instances' own scheduled push and of the simulation's `pushInventory` calls. */
  readonly syncIntervalSeconds: number;
  /** `simulated`: the simulated ERP over HTTP; `configured`: the ERP the ERP_* environment names (Tryton). */
  readonly erp: 'simulated' | 'configured';
}

export const DEFAULT_OPTIONS = {
  ordersPerMinute: 10_000,
  minutes: 5,
  instances: 3,
  faultMode: 'script',
  seed: 20261127,
  settleSeconds: 300,
  reportDir: './black-friday-report',
  skus: 60,
  syncIntervalSeconds: 15,
  erp: 'simulated',
} as const;

/** `all`, `none`, or a comma-separated list of fault names; unknown names are reported. */
export function parseFaultList(text: string): { faults: FaultName[] } | { unknown: string[] } {
  const trimmed = text.trim();
  if (trimmed === 'all') return { faults: [...FAULT_NAMES] };
  if (trimmed === 'none' || trimmed === '') return { faults: [] };
  const names = trimmed.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(FAULT_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) return { unknown };
  return { faults: [...new Set(names as FaultName[])] };
}

/** Why the run cannot go ahead as asked (one line each), before anything starts. */
export function refusals(options: Pick<BlackFridayOptions, 'instances' | 'databaseUrl'> & { readonly erp?: BlackFridayOptions['erp'] }, env: Readonly<Record<string, string | undefined>> = {}): string[] {
  const problems: string[] = [];
  if (options.instances > 1 && !options.databaseUrl) {
    problems.push(
      `${options.instances} gateway instances share one database, and the embedded one (PGlite) serves a single process: set DATABASE_URL to a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres; the run creates and drops its own database there), or run with --instances 1`,
    );
  }
  if (options.erp === 'configured') problems.push(...configuredErpRefusals(env));
  return problems;
}

/** Why `--erp configured` cannot run with this environment (one line each). */
export function configuredErpRefusals(env: Readonly<Record<string, string | undefined>>): string[] {
  if (env.ERP_CONNECTOR !== 'tryton') {
    return [`--erp configured plays against the ERP the environment configures, and ERP_CONNECTOR is ${env.ERP_CONNECTOR ? `'${env.ERP_CONNECTOR}'` : 'not set'}: set ERP_CONNECTOR=tryton with ERP_URL, ERP_DATABASE, ERP_USER and ERP_PASSWORD (e.g. eval "$(bash scripts/tryton.sh env)"), or use --erp simulated`];
  }
  const missing = ['ERP_URL', 'ERP_DATABASE', 'ERP_USER', 'ERP_PASSWORD'].filter((name) => !env[name]);
  return missing.length > 0 ? [`--erp configured with ERP_CONNECTOR=tryton needs ${missing.join(', ')} (e.g. eval "$(bash scripts/tryton.sh env)")`] : [];
}
