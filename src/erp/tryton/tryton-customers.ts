import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PostalAddress, SalesOrderInput } from '../erp-connector.js';
import { ErpConflictError, ErpInDoubtError } from '../erp-errors.js';
import { customerKey, KeyedSerializer } from '../erp-find-or-create.js';
import { ids, type TrytonCalls } from './tryton-calls.js';

/**
 * The customers of the sales Stockbridge makes: a `party.party` and the shipping
 * `party.address` on it, found or created once whatever runs at the same time.
 */
export class TrytonCustomers {
  private readonly serializer = new KeyedSerializer();

  /** Country ids by ISO code: reference data, read once per code (a miss is not remembered). */
  private readonly countries = new Map<string, number>();

  constructor(private readonly calls: TrytonCalls) {}

  /**
   * The customer's party and the shipping address on it, found or created safely under
   * concurrency: one at a time per customer in this process, and across processes by the party
   * code, which is derived from the customer's natural key (`customerKey`) and unique in Tryton,
   * so the second of two concurrent creates gets "The code on party must be unique." and looks
   * again. A lost answer is `ERP_UNAVAILABLE`: the order was not sent, and the next attempt
   * finds the party (or conflicts with it).
   */
  customerParty(order: SalesOrderInput): Promise<{ party: number; address: number }> {
    const key = customerKey(order.customer);
    return this.serializer.run(key, async () => {
      const party = await this.calls.writeResumable('creating the customer', () => this.findOrCreateParty(order, key));
      const address = await this.calls.writeResumable('creating the address', () => this.addressFor(party, order.shippingAddress));
      return { party, address };
    });
  }

  private async findOrCreateParty(order: SalesOrderInput, key: string): Promise<number> {
    const code = partyCodeFor(key);
    const email = order.customer.email?.trim().toLowerCase() || null;
    const find = async (): Promise<number | undefined> => {
      const [byCode] = await this.calls.read('party.party', 'search', [[['code', '=', code]], 0, 1, [['id', 'ASC']]], ids);
      if (byCode !== undefined || !email) return byCode;
      // A party made before codes were derived, or by a clerk: found by its e-mail.
      const [mechanism] = await this.calls.searchRead('party.contact_mechanism', [['type', '=', 'email'], ['value', '=', email]], ['party'], z.object({ party: z.number().int() }), { limit: 1, order: [['id', 'ASC']] });
      return mechanism?.party;
    };
    const found = await find();
    if (found !== undefined) return found;
    const mechanisms = [...(email ? [{ type: 'email', value: email }] : []), ...(order.customer.phone ? [{ type: 'phone', value: order.customer.phone }] : [])];
    try {
      const [party] = await this.calls.write('party.party', 'create', [[{ name: order.customer.name, code, contact_mechanisms: [['create', mechanisms]] }]], z.tuple([z.number().int()]), { retryConflicts: false });
      return party;
    } catch (error) {
      if (!(error instanceof ErpConflictError) && !(error instanceof ErpInDoubtError)) throw error;
      const again = await find();
      if (again !== undefined) return again;
      throw error;
    }
  }

  private async addressFor(party: number, postal: PostalAddress | null): Promise<number> {
    if (postal === null) {
      const [first] = await this.calls.read('party.address', 'search', [[['party', '=', party]], 0, 1, [['sequence', 'ASC'], ['id', 'ASC']]], ids);
      if (first !== undefined) return first;
      await this.calls.write('party.address', 'create', [[{ party }]], ids);
      const [oldest] = await this.calls.read('party.address', 'search', [[['party', '=', party]], 0, 1, [['sequence', 'ASC'], ['id', 'ASC']]], ids);
      return oldest!;
    }
    const street = [postal.company, postal.line1, postal.line2].filter((part): part is string => Boolean(part?.trim())).join('\n');
    const code = postal.countryCode.toUpperCase();
    let country = this.countries.get(code);
    if (country === undefined) {
      [country] = await this.calls.read('country.country', 'search', [[['code', '=', code]], 0, 1, null], ids);
      if (country !== undefined) this.countries.set(code, country);
    }
    const values = { street, city: postal.city, postal_code: postal.postalCode, country: country ?? null, party_name: postal.name };
    const [same] = await this.calls.read(
      'party.address',
      'search',
      [[['party', '=', party], ...Object.entries(values).map(([field, value]) => [field, '=', value])], 0, 1, null],
      ids,
    );
    if (same !== undefined) return same;
    await this.calls.write('party.address', 'create', [[{ party, ...values }]], ids);
    // Another process may have made the same address at the same time (no unique key exists for
    // addresses): every process uses the oldest of the equal ones, so their sales agree.
    const [oldest] = await this.calls.read(
      'party.address',
      'search',
      [[['party', '=', party], ...Object.entries(values).map(([field, value]) => [field, '=', value])], 0, 1, [['id', 'ASC']]],
      ids,
    );
    return oldest!;
  }
}

/**
 * The Tryton party code of a customer: derived from its natural key so that two processes
 * creating the same new customer collide on Tryton's unique party code instead of making two.
 */
export function partyCodeFor(key: string): string {
  return `SB-${createHash('sha256').update(key).digest('hex').slice(0, 20).toUpperCase()}`;
}
