import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
interface Rules {
  ignoreCase: boolean;
  abbreviations: Array<{ from: string; to: string }>;
}
interface Change {
  erpSku: string;
  before: { status: string; shopifyVariantId: string | null };
  after: { status: string; shopifyVariantId: string | null };
}
interface SetAnswer {
  setSkuNormalizationRules: {
    rules: Rules | null;
    changes: Change[];
    dryRun: boolean;
    userErrors: Array<{ field: string[]; code: string; message: string }>;
  };
}

const RULES = `{ skuNormalizationRules { ignoreCase abbreviations { from to } } }`;
const SET = `mutation ($input: SetSkuNormalizationRulesInput!) {
  setSkuNormalizationRules(input: $input) {
    rules { ignoreCase abbreviations { from to } }
    changes { erpSku before { status shopifyVariantId } after { status shopifyVariantId } }
    dryRun
    userErrors { field code message }
  }
}`;

describe('SKU normalization rules over GraphQL on the demo', () => {
  let gateway: TestGateway;
  let readKey: string;
  let adminKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    [readKey, adminKey] = await Promise.all([gateway.createKey(['read']), gateway.createKey(['read', 'admin'])]);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
  });

  const report = () => gateway.services.inventory.mapping.getMappingReport();
  const actionCount = () => createOperatorActions(gateway.database.db).countSince(new Date(0), ['setSkuNormalizationRules']);

  it('shows the rules in force; a dry run without the abbreviations lists the SKUs it would unmap and writes nothing; the real change applies the same list', async () => {
    const shown = await gateway.graphql<Body<{ skuNormalizationRules: Rules }>>(readKey, RULES);
    expect(shown.body.errors).toBeUndefined();
    const demoRules = shown.body.data!.skuNormalizationRules;
    expect(demoRules.ignoreCase).toBe(true);
    expect(demoRules.abbreviations.length).toBeGreaterThan(0);
    const countsBefore = (await report()).counts;

    const dry = await gateway.graphql<Body<SetAnswer>>(adminKey, SET, { input: { abbreviations: [], dryRun: true } });
    expect(dry.body.errors).toBeUndefined();
    const preview = dry.body.data!.setSkuNormalizationRules;
    expect(preview.dryRun).toBe(true);
    expect(preview.rules?.abbreviations).toEqual([]);
    expect(preview.changes.length).toBeGreaterThan(0);
    for (const change of preview.changes) expect(change.before.status).toBe('MAPPED');
    expect(preview.changes.some((change) => change.after.status !== 'MAPPED')).toBe(true);

    const stillShown = await gateway.graphql<Body<{ skuNormalizationRules: Rules }>>(readKey, RULES);
    expect(stillShown.body.data!.skuNormalizationRules).toEqual(demoRules);
    expect((await report()).counts).toEqual(countsBefore);
    expect(await actionCount()).toBe(0);

    const applied = await gateway.graphql<Body<SetAnswer>>(adminKey, SET, { input: { abbreviations: [] } });
    expect(applied.body.data!.setSkuNormalizationRules).toEqual({ ...preview, dryRun: false });
    const [firstChanged] = preview.changes;
    const [now] = await gateway.services.inventory.mapping.findSkuMappingsBySkus([firstChanged!.erpSku]);
    expect(now?.shopifyVariantId ?? null).toBe(firstChanged!.after.shopifyVariantId);
    expect((await gateway.graphql<Body<{ skuNormalizationRules: Rules }>>(readKey, RULES)).body.data!.skuNormalizationRules.abbreviations).toEqual([]);
    expect(await actionCount()).toBe(1);

    const restored = await gateway.graphql<Body<SetAnswer>>(adminKey, SET, { input: { abbreviations: demoRules.abbreviations } });
    const back = restored.body.data!.setSkuNormalizationRules;
    expect(back.rules).toEqual(demoRules);
    expect(back.changes.map((change) => change.erpSku)).toEqual(preview.changes.map((change) => change.erpSku));
    expect(back.changes.every((change) => change.after.status === 'MAPPED')).toBe(true);
    expect((await report()).counts).toEqual(countsBefore);
    expect(await actionCount()).toBe(2);
  });

  it('refuses blank and duplicate terms as user errors, and a key without the admin scope', async () => {
    const refused = await gateway.graphql<Body<SetAnswer>>(adminKey, SET, {
      input: { abbreviations: [{ from: ' ', to: 'BLUE' }, { from: 'blu', to: 'navy' }, { from: 'BLU', to: 'azure' }] },
    });
    expect(refused.body.errors).toBeUndefined();
    expect(refused.body.data!.setSkuNormalizationRules).toEqual({
      rules: null,
      changes: [],
      dryRun: false,
      userErrors: [
        expect.objectContaining({ field: ['input', 'abbreviations', '0', 'from'], code: 'BLANK_TERM' }),
        expect.objectContaining({ field: ['input', 'abbreviations', '2', 'from'], code: 'DUPLICATE_TERM' }),
      ],
    });
    const forbidden = await gateway.graphql<Body<SetAnswer>>(readKey, SET, { input: { abbreviations: [] } });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await actionCount()).toBe(2);
  });
});
