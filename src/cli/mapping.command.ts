import { userInfo } from 'node:os';
import { createInventoryModule } from '../inventory/inventory.module.js';
import type { MappingService, NormalizationRulesChange } from '../inventory/mapping.service.js';
import type { NormalizationRules } from '../inventory/inventory.models.js';
import { checkAbbreviations } from '../inventory/sku-normalization.js';
import { createOperatorActions, type OperatorActions } from '../operator-actions/operator-actions.js';
import { withModuleDeps } from './cli-modules.js';
import { booleanOption, defineCommand, listOption, stringOption, UsageError, type CliIo } from './command.js';

const usage = `mapping report [--limit N] [--json]
mapping unmap --sku ERP_SKU [--json]
mapping rules [show] [--json]
mapping rules set [--abbreviation FROM=TO ...] [--dry-run] [--json]`;

/** Who acted, as the operator actions record names a CLI user. */
function cliActor(): string {
  return `cli:${userInfo().username}`;
}

function printRules(io: CliIo, rules: NormalizationRules): void {
  io.stdout.write(`ignore case ${rules.ignoreCase}, separators ${rules.ignoreSeparators ? `'${rules.separators}' ignored` : 'kept'}, whitespace ${rules.ignoreWhitespace ? 'ignored' : 'kept'}\n`);
  for (const [from, to] of Object.entries(rules.abbreviations)) io.stdout.write(`ABBREVIATION  ${from} = ${to}\n`);
}

function rulesJson(rules: NormalizationRules) {
  return { ...rules, abbreviations: Object.entries(rules.abbreviations).map(([from, to]) => ({ from, to })) };
}

/** `--abbreviation BLU=BLUE` into a pair; a value without `=` is a usage error. */
function parseAbbreviation(text: string): { from: string; to: string } {
  const at = text.indexOf('=');
  if (at < 0) throw new UsageError(`--abbreviation ${text}: expected FROM=TO`);
  return { from: text.slice(0, at), to: text.slice(at + 1) };
}

async function withMapping(io: CliIo, work: (mapping: MappingService, actions: OperatorActions) => Promise<number>): Promise<number> {
  return withModuleDeps(io, ({ composed, database }) => work(createInventoryModule(composed.deps).services.mapping, createOperatorActions(database.db)));
}

/**
 * `mapping report` prints how many ERP SKUs are mapped, unmapped and ambiguous, with the worst
 * offenders; `mapping unmap` removes a manual mapping (the SKU goes back to rule matching).
 * Both work on the database every instance shares; with the embedded database (PGlite) the
 * gateway must be stopped first (one process holds its lock).
 */
export const mappingCommand = defineCommand({
  name: 'mapping',
  usage,
  summary: 'report the SKU mapping (mapped, unmapped, ambiguous) or remove a manual SKU mapping',
  description: `report lists the counts and the first --limit (default 10) unmapped and ambiguous SKUs.
unmap removes the manual mapping of --sku (set with mapSku); the SKU is matched by the rules again.
Each unmap is recorded as an operator action (a manual intervention).
rules (or rules show) prints the SKU normalization rules in force. rules set replaces the
abbreviations with the --abbreviation pairs given (none: no abbreviations) and re-matches the
catalogue, printing the ERP SKUs whose mapping changes; with --dry-run it only prints them.
A real set is recorded as an operator action.`,
  maxPositionals: 2,
  actions: ['report', 'unmap', 'rules'],
  defaultAction: 'report',
  examples: ['mapping report --limit 50', 'mapping unmap --sku BRACKET-L-BLU', 'mapping rules show --json', 'mapping rules set --abbreviation BLU=BLUE --abbreviation BLK=BLACK --dry-run'],
  options: {
    sku: { type: 'string', valueName: 'ERP_SKU', description: 'unmap: the ERP SKU whose manual mapping goes' },
    limit: { type: 'string', valueName: 'N', description: 'report: how many SKUs of each list to show (default 10)' },
    abbreviation: { type: 'string', multiple: true, valueName: 'FROM=TO', description: 'rules set: an abbreviation pair (BLU=BLUE)' },
    'dry-run': { type: 'boolean', description: 'rules set: print the changes, write nothing' },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
  async run(args, io) {
    const action = args.positionals[0] ?? 'report';
    if (!['report', 'unmap', 'rules'].includes(action)) throw new UsageError(`unknown action '${action}' (report, unmap or rules)`);
    const rulesAction = args.positionals[1] ?? (action === 'rules' ? 'show' : undefined);
    if (rulesAction !== undefined && action !== 'rules') throw new UsageError(`unexpected argument '${rulesAction}'`);
    if (action === 'rules' && !['show', 'set'].includes(rulesAction!)) throw new UsageError(`unknown rules action '${rulesAction}' (show or set)`);
    const abbreviationTexts = listOption(args, 'abbreviation');
    const dryRun = booleanOption(args, 'dry-run');
    if (rulesAction !== 'set' && (abbreviationTexts.length > 0 || dryRun)) throw new UsageError('--abbreviation and --dry-run go with rules set');
    const sku = stringOption(args, 'sku')?.trim();
    const limitText = stringOption(args, 'limit');
    const json = booleanOption(args, 'json');
    if (action === 'unmap' && !sku) throw new UsageError('unmap needs --sku');
    if (action === 'report' && sku !== undefined) throw new UsageError('report takes no --sku');
    const limit = limitText === undefined ? 10 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError('--limit must be a whole number');

    if (action === 'rules') {
      const pairs = abbreviationTexts.map(parseAbbreviation);
      return withMapping(io, async (mapping, actions) => {
        if (rulesAction === 'show') {
          const rules = await mapping.getNormalizationRules();
          if (json) io.stdout.write(`${JSON.stringify(rulesJson(rules), null, 2)}\n`);
          else printRules(io, rules);
          return 0;
        }
        const checked = checkAbbreviations(pairs);
        if (!checked.ok) {
          for (const problem of checked.problems) io.stderr.write(`mapping: ${problem.message} (${problem.code})\n`);
          return 1;
        }
        const current = await mapping.getNormalizationRules();
        const result: NormalizationRulesChange = await mapping.changeNormalizationRules({ ...current, abbreviations: checked.abbreviations }, { dryRun });
        if (!dryRun) {
          await actions.record({ action: 'setSkuNormalizationRules', actor: cliActor(), target: 'abbreviations', details: { abbreviations: checked.abbreviations, changes: result.changes.length } });
        }
        if (json) {
          io.stdout.write(`${JSON.stringify({ dryRun, rules: rulesJson(result.rules), changes: result.changes }, null, 2)}\n`);
          return 0;
        }
        printRules(io, result.rules);
        const state = (s: { status: string; shopifyVariantId: string | null }) => (s.shopifyVariantId ? `${s.status} ${s.shopifyVariantId}` : s.status);
        for (const change of result.changes) io.stdout.write(`CHANGE  ${change.erpSku}  ${state(change.before)} -> ${state(change.after)}\n`);
        io.stdout.write(`${result.changes.length} SKU${result.changes.length === 1 ? '' : 's'} ${dryRun ? 'would change (dry run: nothing written)' : 'changed'}\n`);
        return 0;
      });
    }
    return withMapping(io, async (mapping, actions) => {
      if (action === 'unmap') {
        const [current] = await mapping.findSkuMappingsBySkus([sku!]);
        if (current?.source !== 'MANUAL') {
          io.stderr.write(`mapping: ${sku} has no manual mapping (NOT_MANUALLY_MAPPED)\n`);
          return 1;
        }
        await mapping.unmapSku(sku!);
        await actions.record({ action: 'unmapSku', actor: cliActor(), target: sku!, details: { shopifyVariantId: current.shopifyVariantId } });
        const [after] = await mapping.findSkuMappingsBySkus([sku!]);
        const now = after ? `now ${after.source} to ${after.shopifyVariantId}` : 'now unmapped';
        if (json) io.stdout.write(`${JSON.stringify({ erpSku: sku, unmapped: current.shopifyVariantId, mapping: after ?? null }, null, 2)}\n`);
        else io.stdout.write(`${sku}: manual mapping to ${current.shopifyVariantId} removed; ${now}\n`);
        return 0;
      }
      const report = await mapping.getMappingReport({ limit });
      if (json) {
        io.stdout.write(
          `${JSON.stringify({ counts: report.counts, unmappedErpSkus: report.unmappedErpSkus, ambiguous: report.ambiguous, unmappedLocations: report.unmappedLocations }, null, 2)}\n`,
        );
        return 0;
      }
      const { counts } = report;
      io.stdout.write(`mapped              ${counts.mapped}\n`);
      io.stdout.write(`unmapped ERP SKUs   ${counts.unmappedErpSkus}\n`);
      io.stdout.write(`unmapped Shopify    ${counts.unmappedShopifySkus}\n`);
      io.stdout.write(`ambiguous           ${counts.ambiguous}\n`);
      if (report.unmappedLocations.length > 0) io.stdout.write(`unmapped locations  ${report.unmappedLocations.join(', ')}\n`);
      for (const erpSku of report.unmappedErpSkus) io.stdout.write(`UNMAPPED   ${erpSku}\n`);
      for (const ambiguous of report.ambiguous) {
        io.stdout.write(`AMBIGUOUS  ${ambiguous.erpSku}  ${ambiguous.reason}  ${ambiguous.candidates.length} candidates${ambiguous.competingErpSkus.length > 0 ? `, competing with ${ambiguous.competingErpSkus.join(', ')}` : ''}\n`);
      }
      return 0;
    });
  },
});
