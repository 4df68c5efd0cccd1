import type { SalesOrderInput } from './erp-connector.js';

/**
 * Find-or-create of the records a write makes on the way (a customer, an address) is safe under
 * concurrency in two layers: inside one process, calls for the same natural key run one after
 * another (the second finds what the first made); across processes, the record carries its
 * natural key where the ERP enforces uniqueness, so the second create fails with a conflict and
 * the connector looks again.
 */

/** Runs tasks one after another per key; tasks of different keys run side by side. */
export class KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      // The last task of a key leaves no entry behind.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/**
 * The natural key of an order's customer: the e-mail (trimmed, lower-case), else the name
 * (trimmed, spaces collapsed, lower-case). Two orders of one new customer name the same key.
 */
export function customerKey(customer: SalesOrderInput['customer']): string {
  const email = customer.email?.trim().toLowerCase();
  if (email) return `email:${email}`;
  return `name:${customer.name.trim().replace(/\s+/g, ' ').toLowerCase()}`;
}
