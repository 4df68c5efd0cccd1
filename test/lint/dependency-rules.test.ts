import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The dependency rules of eslint.config.js, run through ESLint itself on small files placed (in
 * name only: lintText never writes them) where the rules apply: a rule that stopped biting would
 * let these files through.
 */
const eslint = new ESLint({ cwd: process.cwd() });
// The config is plain JavaScript (no types): its domain list is read as what it is.
const eslintConfigPath: string = '../../eslint.config.js';
const { domainFolders } = (await import(eslintConfigPath)) as { domainFolders: string[] };

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('dependency rules (ESLint)', () => {
  it('knows every domain by its module file, the ones added later included', () => {
    expect(domainFolders).toEqual(expect.arrayContaining(['auth', 'inventory', 'orders', 'privacy', 'reservations', 'shopify-app', 'switches', 'sync']));
  });

  it('refuses a domain importing a peer domain, from any of its files', async () => {
    const errors = await restrictedImports('src/sync/lint-fixture.ts', "import type { OrdersService } from '../orders/orders.service.js';\nexport type Fixture = OrdersService;\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('A domain does not import a peer domain');
    expect(await restrictedImports('src/privacy/privacy.lint-fixture.service.ts', "export { contentDigestOf } from '../orders/shopify-order.payloads.js';\n")).toHaveLength(1);
    expect(await restrictedImports('src/orders/lint-fixture.ts', "export type { ReservationsService } from '../reservations/reservations.service.js';\n")).toHaveLength(1);
  });

  it('refuses a peer reaching into inventory past its port, and allows the port and the read model', async () => {
    expect(await restrictedImports('src/orders/lint-fixture.ts', "export type { MappingService } from '../inventory/mapping.service.js';\n")).toHaveLength(1);
    expect(await restrictedImports('src/reservations/lint-fixture.ts', "export type { AtpService } from '../inventory/atp.service.js';\n")).toHaveLength(1);
    const clean = [
      "export type { MappingService, PushSignal } from '../inventory/inventory.port.js';",
      "export { availableToPromise } from '../inventory/read-model/atp-formula.js';",
      "export { isAppError } from '../shared/errors.js';",
      "export type { DomainModule } from '../domain-module.js';",
    ].join('\n');
    expect(await restrictedImports('src/sync/lint-fixture.ts', `${clean}\n`)).toEqual([]);
  });

  it('lets a domain import its own files, and inventory its own internals', async () => {
    expect(await restrictedImports('src/inventory/lint-fixture.ts', "export type { MappingService } from './mapping.service.js';\nexport type { PushSignalHub } from './push-signal.js';\n")).toEqual([]);
  });

  it('refuses an adapter importing a domain, and shared code importing anything of the project outside src/shared', async () => {
    expect(await restrictedImports('src/shopify/lint-fixture.ts', "export type { OrdersService } from '../orders/orders.service.js';\n")).toHaveLength(1);
    expect(await restrictedImports('src/erp/lint-fixture.ts', "export type { AtpService } from '../inventory/inventory.port.js';\n")).toHaveLength(1);
    expect(await restrictedImports('src/simulators/lint-fixture.ts', "export type { SyncService } from '../sync/sync.service.js';\n")).toHaveLength(1);
    expect(await restrictedImports('src/shared/lint-fixture.ts', "export type { Config } from '../config.js';\n")).toHaveLength(1);
    expect(await restrictedImports('src/shared/lint-fixture.ts', "export { AppError } from './errors.js';\n")).toEqual([]);
  });

  it('leaves the composition root free to wire every domain', async () => {
    expect(await restrictedImports('src/gateway.ts', "export { createOrdersModule } from './orders/orders.module.js';\nexport { createSyncModule } from './sync/sync.module.js';\n")).toEqual([]);
  });
});
