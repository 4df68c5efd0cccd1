import { beforeAll, describe, expect, it } from 'vitest';
import { mappingCommand } from '../../src/cli/mapping.command.js';
import { loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway.js';
import { createMemoryLogger } from '../support/gateway.js';
import { dataDirEnv, runCommand, useTempDataDir } from '../support/cli.js';

/**
 * The demo gateway fills an embedded database and one SKU is mapped by hand; the gateway stops
 * (PGlite: one process at a time) and the CLI works on the same data directory.
 */
describe('mapping command', () => {
  const tempDir = useTempDataDir('stockbridge-mapping-cli-');
  let dataDir: string;
  let manualSku: string;
  let variantId: string;

  beforeAll(async () => {
    dataDir = tempDir.path();
    const gateway = await startGateway(loadConfig({ PORT: '0', SCHEDULER: 'off', LOG_LEVEL: 'silent', DATA_DIR: dataDir }), createMemoryLogger('silent').log);
    try {
      await gateway.services.inventory.whenReady();
      const { items } = await gateway.services.inventory.mapping.listPushTargets({ first: 10 });
      manualSku = items[0]!.sku;
      const [rule] = await gateway.services.inventory.mapping.findSkuMappingsBySkus([manualSku]);
      variantId = rule!.shopifyVariantId;
      await gateway.services.inventory.mapping.mapSku({ erpSku: manualSku, shopifyVariantId: variantId });
    } finally {
      await gateway.close();
    }
  }, 180_000);

  function run(args: string[]) {
    return runCommand(mappingCommand, args, dataDirEnv(dataDir));
  }

  it('reports the mapping counts as JSON', async () => {
    const report = await run(['report', '--json']);
    expect(report.code).toBe(0);
    const parsed = JSON.parse(report.stdout) as { counts: { mapped: number; ambiguous: number } };
    expect(parsed.counts.mapped).toBeGreaterThan(0);
  }, 120_000);

  it('removes a manual mapping (the SKU goes back to its rule match) and refuses a SKU without one with exit code 1', async () => {
    const unmapped = await run(['unmap', '--sku', manualSku]);
    expect(unmapped.stderr).toBe('');
    expect(unmapped.code).toBe(0);
    expect(unmapped.stdout).toBe(`${manualSku}: manual mapping to ${variantId} removed; now RULE to ${variantId}\n`);
    const again = await run(['unmap', '--sku', manualSku]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('NOT_MANUALLY_MAPPED');
  }, 120_000);

  it('shows the normalization rules, previews a change with --dry-run without writing it, then applies it', async () => {
    const shown = await run(['rules', '--json']);
    expect(shown.code).toBe(0);
    const rules = JSON.parse(shown.stdout) as { abbreviations: Array<{ from: string; to: string }> };
    expect(rules.abbreviations).toContainEqual({ from: 'BLU', to: 'blue' });

    const dry = await run(['rules', 'set', '--dry-run', '--json']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const preview = JSON.parse(dry.stdout) as { dryRun: boolean; rules: { abbreviations: unknown[] }; changes: Array<{ erpSku: string; before: { status: string } }> };
    expect(preview.dryRun).toBe(true);
    expect(preview.rules.abbreviations).toEqual([]);
    expect(preview.changes.length).toBeGreaterThan(0);
    expect(preview.changes.every((change) => change.before.status === 'MAPPED')).toBe(true);
    expect(JSON.parse((await run(['rules', 'show', '--json'])).stdout)).toEqual(rules);

    const applied = await run(['rules', 'set']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`${preview.changes.length} SKU${preview.changes.length === 1 ? '' : 's'} changed`);
    expect(applied.stdout).toContain(`CHANGE  ${preview.changes[0]!.erpSku}  MAPPED`);
    expect((JSON.parse((await run(['rules', '--json'])).stdout) as typeof rules).abbreviations).toEqual([]);

    const restored = await run(['rules', 'set', ...rules.abbreviations.flatMap(({ from, to }) => ['--abbreviation', `${from}=${to}`]), '--json']);
    expect((JSON.parse(restored.stdout) as { changes: Array<{ erpSku: string }> }).changes.map((change) => change.erpSku)).toEqual(preview.changes.map((change) => change.erpSku));
  }, 120_000);

  it('refuses a duplicate abbreviation term (exit code 1) and a malformed pair or a stray --dry-run (usage errors)', async () => {
    const duplicate = await run(['rules', 'set', '--abbreviation', 'BLU=blue', '--abbreviation', 'blu=navy']);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('DUPLICATE_TERM');
    expect((await run(['rules', 'set', '--abbreviation', 'BLU'])).code).toBe(2);
    expect((await run(['rules', '--dry-run'])).code).toBe(2);
    expect((await run(['rules', 'drop'])).code).toBe(2);
  });

  it('needs --sku to unmap (usage error, exit code 2)', async () => {
    expect((await run(['unmap'])).code).toBe(2);
  });
});
