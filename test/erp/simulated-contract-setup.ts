import { customerKey } from '../../src/erp/erp-find-or-create.js';
import type { SimulatedErpConnector, SimulatedErpConnectorOptions } from '../../src/erp/simulated/simulated-erp-connector.js';
import type { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import type { ErpContractSetup, ErpWriteOperation } from './erp-connector.contract.js';

/** The wire methods that carry each port write in the simulated ERP. */
const WRITE_METHODS: Record<ErpWriteOperation, string> = { createSalesOrder: 'sale.create', cancelSalesOrder: 'sale.cancel', createCustomerReturn: 'return.create' };

/**
 * The connector contract's setup over one simulated ERP, however its connectors reach it (in
 * process, or over HTTP through `simulate-erp`'s server): two warehouses, three connectors (the
 * faults' one settling its doubts after a second), faults and fixture driven on the ERP itself.
 * `close`, when given, runs after the connectors are closed.
 */
export function simulatedErpContractSetup(
  erp: SimulatedErp,
  connect: (options: SimulatedErpConnectorOptions) => SimulatedErpConnector,
  options: SimulatedErpConnectorOptions = {},
  close?: () => Promise<void>,
): ErpContractSetup {
  erp.addWarehouse({ code: 'NORTH', name: 'North warehouse' });
  erp.addWarehouse({ code: 'SOUTH', name: 'South warehouse' });
  const connectors = [connect(options), connect(options), connect({ ...options, inDoubtSettleMs: 1_000 })] as const;
  return {
    connector: connectors[0],
    otherProcess: connectors[1],
    faults: {
      connector: connectors[2],
      loseAnswerOf: (operation, commitDelayMs) => erp.fail({ mode: 'lost', methods: [WRITE_METHODS[operation]], times: 1, delayMs: commitDelayMs }),
      raceNextCustomerCreation: (customer) =>
        erp.beforeNextCall('party.create', () => erp.addCustomer({ key: customerKey(customer), name: customer.name, email: customer.email?.toLowerCase() ?? null })),
      conflictOnNextOrderCreate: () => erp.fail({ mode: 'conflict', methods: ['sale.create'], times: 1 }),
      settled: () => erp.settled(),
    },
    fixture: {
      locations: ['NORTH', 'SOUTH'],
      lotExpiry: true,
      createProducts: async (products) => {
        for (const product of products) erp.addProduct(product);
      },
      receiveStock: async (input) => erp.receiveStock(input),
      assignSalesOrder: async (reference) => erp.assignSalesOrder(reference),
      // The simulated ERP takes lots itself (soonest expiry first): the suite names lots alone in stock.
      shipSalesOrder: async (reference, shipOptions) =>
        erp.shipSalesOrder(reference, { trackingNumber: shipOptions.trackingNumber, lines: shipOptions.lines.map(({ sku, quantity }) => ({ sku, quantity })) }),
      createOtherChannelOrder: async (input) => {
        erp.createWholesaleOrder(input);
      },
      countSalesOrders: async (reference) => erp.countSalesOrders(reference),
      countCustomers: async (email) => erp.countCustomers(email),
      roundTrips: () => erp.roundTrips(),
    },
    ...(close
      ? {
          teardown: async () => {
            for (const connector of connectors) await connector.close();
            await close();
          },
        }
      : {}),
  };
}
