import { resolve } from 'node:path';
import { createLogger } from '../logger.js';
import { DEFAULT_OPTIONS, FAULT_NAMES, parseFaultList, refusals, type BlackFridayOptions, type FaultName } from '../simulators/black-friday/options.js';
import { terminalSummary } from '../simulators/black-friday/report.js';
import { runBlackFriday } from '../simulators/black-friday/run.js';
import { defineCommand, stringOption } from './command.js';

/**
 * `simulate black-friday`: the peak day against the whole stack (simulated store and ERP, the
 * run's own database, K gateway processes), with faults, and its report. Exit 0 only when
 * nothing was lost, doubled or oversold and Shopify equals the ATP after the settle.
 */
export const simulateCommand = defineCommand({
  name: 'simulate',
  usage:
    'simulate black-friday [--orders-per-minute N] [--minutes M] [--instances K] [--faults LIST|all|none]\n' +
    '                      [--fault-mode script|random] [--seed N] [--settle-seconds S] [--skus N]\n' +
    '                      [--sync-interval-seconds S] [--erp simulated|configured] [--report-dir DIR]\n' +
    '                      [--keep-database] [--json]',
  summary: 'run the Black Friday simulation (orders, wholesale, ERP activity, faults) against K gateway processes and report (exit 0 only when nothing was lost, doubled or oversold)',
  description: `Starts the simulated store (Plus plan), the ERP (--erp simulated: the simulated ERP over HTTP;
--erp configured: the ERP the ERP_* environment names, e.g. a real Tryton, where the run creates
its own products and stock), a fresh database on the DATABASE_URL server (dropped afterwards
unless --keep-database; several instances need PostgreSQL) and K gateway processes behind a
round-robin balancer, then places orders for M minutes while wholesale apps reserve, the ERP
receives and ships stock and pushInventory runs on its schedule. The ERP's faults act at a chaos
proxy in front of either ERP. Faults (--faults, comma-separated): ${FAULT_NAMES.join(', ')}.
During the load it measures ERP stock change to Shopify available, webhook acks at the balancer,
products(first: 100) through the balancer every 2 s and how soon sampled orders are visible.
Writes report.json and report.html (inline SVG charts) to --report-dir. The terminal summary ends
with the lines placed, accepted, in ERP, lost, duplicated, oversold.

exit codes: 0 nothing lost, doubled or oversold and no drift after the settle; 1 otherwise; 2 usage.

examples:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run cli -- simulate black-friday
  npm run cli -- simulate black-friday --minutes 1 --orders-per-minute 1000 --instances 2 --faults all
  npm run cli -- simulate black-friday --instances 1 --faults none --minutes 1   (PGlite, no DATABASE_URL)
  eval "$(bash scripts/tryton.sh env)"; ERP_CONNECTOR=tryton npm run cli -- simulate black-friday --erp configured --minutes 1 --orders-per-minute 300`,
  actions: ['black-friday'],
  options: {
    'orders-per-minute': { type: 'string', valueName: 'N', description: `orders a minute (default ${DEFAULT_OPTIONS.ordersPerMinute})` },
    minutes: { type: 'string', valueName: 'M', description: `length of the load phase (default ${DEFAULT_OPTIONS.minutes}; fractions allowed)` },
    instances: { type: 'string', valueName: 'K', description: `gateway processes (default ${DEFAULT_OPTIONS.instances})` },
    faults: { type: 'string', valueName: 'LIST', description: 'faults to inject: a comma-separated list, all or none (default all)' },
    'fault-mode': { type: 'string', valueName: 'MODE', description: 'script (one after another, evenly spread; default) or random (moments drawn from --seed)' },
    seed: { type: 'string', valueName: 'N', description: `seed of every random choice (default ${DEFAULT_OPTIONS.seed})` },
    'settle-seconds': { type: 'string', valueName: 'S', description: `longest settle after the load (default ${DEFAULT_OPTIONS.settleSeconds})` },
    skus: { type: 'string', valueName: 'N', description: `products in the catalogue, a tenth hot (default ${DEFAULT_OPTIONS.skus})` },
    'sync-interval-seconds': { type: 'string', valueName: 'S', description: `SYNC_INTERVAL_SECONDS of the instances and period of the scheduled pushInventory (default ${DEFAULT_OPTIONS.syncIntervalSeconds})` },
    erp: { type: 'string', valueName: 'KIND', description: 'simulated (the simulated ERP over HTTP; default) or configured (the ERP_* environment: ERP_CONNECTOR=tryton, ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD)' },
    'report-dir': { type: 'string', valueName: 'DIR', description: `where report.json and report.html go (default ${DEFAULT_OPTIONS.reportDir})` },
    'keep-database': { type: 'boolean', description: 'keep the run database afterwards (its name is printed)' },
    json: { type: 'boolean', description: 'print report.json on stdout instead of the summary' },
  },
  run: async (args, io) => {
    const flag = (name: string) => stringOption(args, name);
    const problems: string[] = [];
    const number = (name: string, fallback: number, min: number, max: number, whole: boolean): number => {
      const value = Number(flag(name) ?? String(fallback));
      if (!Number.isFinite(value) || value < min || value > max || (whole && !Number.isInteger(value))) {
        problems.push(`--${name} must be a ${whole ? 'whole ' : ''}number from ${min} to ${max}`);
      }
      return value;
    };
    const ordersPerMinute = number('orders-per-minute', DEFAULT_OPTIONS.ordersPerMinute, 1, 1_000_000, true);
    const minutes = number('minutes', DEFAULT_OPTIONS.minutes, 0.1, 24 * 60, false);
    const instances = number('instances', DEFAULT_OPTIONS.instances, 1, 26, true);
    const seed = number('seed', DEFAULT_OPTIONS.seed, 0, 2 ** 31, true);
    const settleSeconds = number('settle-seconds', DEFAULT_OPTIONS.settleSeconds, 0, 86_400, true);
    const skus = number('skus', DEFAULT_OPTIONS.skus, 4, 100_000, true);
    const syncIntervalSeconds = number('sync-interval-seconds', DEFAULT_OPTIONS.syncIntervalSeconds, 1, 3_600, true);
    const faultMode = flag('fault-mode') ?? DEFAULT_OPTIONS.faultMode;
    if (faultMode !== 'script' && faultMode !== 'random') problems.push('--fault-mode must be script or random');
    const erp = flag('erp') ?? DEFAULT_OPTIONS.erp;
    if (erp !== 'simulated' && erp !== 'configured') problems.push('--erp must be simulated or configured');
    let faults: FaultName[] = [...FAULT_NAMES];
    const faultText = flag('faults');
    if (faultText !== undefined) {
      const parsed = parseFaultList(faultText);
      if ('unknown' in parsed) problems.push(`--faults: unknown ${parsed.unknown.join(', ')} (known: ${FAULT_NAMES.join(', ')}, or all, none)`);
      else faults = parsed.faults;
    }
    if (problems.length > 0) {
      io.stderr.write(`simulate: ${problems.join('\n  ')}\n`);
      return 2;
    }
    const options: BlackFridayOptions = {
      ordersPerMinute,
      minutes,
      instances,
      faults,
      faultMode: faultMode as 'script' | 'random',
      seed,
      settleSeconds,
      skus,
      syncIntervalSeconds,
      erp: erp as 'simulated' | 'configured',
      reportDir: resolve(flag('report-dir') ?? DEFAULT_OPTIONS.reportDir),
      databaseUrl: io.env.DATABASE_URL || undefined,
      keepDatabase: args.values['keep-database'] === true,
    };
    const refused = refusals(options, io.env);
    if (refused.length > 0) {
      io.stderr.write(`simulate black-friday: ${refused.join('\n')}\n`);
      return 1;
    }
    const logger = createLogger(io.env.LOG_LEVEL ?? 'info', io.stderr);
    const stop = new AbortController();
    void io.stopSignal.then(() => stop.abort());
    const report = await runBlackFriday(options, (line) => io.stderr.write(`[black-friday] ${line}\n`), stop.signal, io.env).catch((error: unknown) => {
      logger.error({ err: error }, 'the Black Friday simulation could not run');
      throw error;
    });
    io.stdout.write(args.values.json === true ? `${JSON.stringify(report, null, 2)}\n` : terminalSummary(report));
    io.stderr.write(`[black-friday] report: ${options.reportDir}/report.json, report.html\n`);
    return report.passed ? 0 : 1;
  },
});
