import { describe, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { runErpConnectorContract } from './erp-connector.contract.js';
import { TrytonErpFixture } from './tryton-erp.fixture.js';

/**
 * The contract suite against a real trytond: start one with `bash scripts/tryton.sh start` and
 * `eval "$(bash scripts/tryton.sh env)"`. Without ERP_URL (and the other ERP_* variables) the
 * suite reports itself skipped.
 */
const { ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD } = process.env;

if (ERP_URL && ERP_DATABASE && ERP_USER && ERP_PASSWORD) {
  const credentials = { url: ERP_URL, database: ERP_DATABASE, user: ERP_USER, password: ERP_PASSWORD };
  runErpConnectorContract(
    `tryton at ${ERP_URL}${ERP_DATABASE}`,
    async () => {
      const logger = createLogger('silent');
      const connector = new TrytonErpConnector({ ...credentials, logger });
      const fixture = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger }));
      return {
        connector,
        fixture: Object.assign(fixture, { roundTrips: () => connector.roundTrips }),
        teardown: () => connector.close(),
      };
    },
    { timeoutMs: 60_000 },
  );
} else {
  describe.skip('ErpConnector contract: tryton (set ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD; see scripts/tryton.sh)', () => {
    it('runs against a real trytond', () => undefined);
  });
}
