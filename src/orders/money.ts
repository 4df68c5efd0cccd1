/**
 * Decimal money arithmetic on strings, exact: Shopify and the ERP port both carry money as
 * decimal strings, and a float would turn 19.90 × 3 into 59.699999999.
 */

const INTERNAL_SCALE = 6;
const SCALE_FACTOR = 10n ** BigInt(INTERNAL_SCALE);

/** Decimals written in a money string (`"19.90"` → 2, `"1000"` → 0). */
export function decimalsOf(value: string): number {
  const dot = value.indexOf('.');
  return dot < 0 ? 0 : value.length - dot - 1;
}

/** Parses `"19.90"`, `"-3.5"`, `"7"` (at most six decimals) into millionths. */
export function parseMoney(value: string | number): bigint {
  const text = typeof value === 'number' ? value.toFixed(INTERNAL_SCALE) : value.trim();
  const match = /^(-)?(\d+)(?:\.(\d{0,6})\d*)?$/.exec(text);
  if (!match) throw new RangeError(`not a decimal amount: ${JSON.stringify(value)}`);
  const [, sign, whole, fraction = ''] = match;
  const scaled = BigInt(whole!) * SCALE_FACTOR + BigInt(fraction.padEnd(INTERNAL_SCALE, '0'));
  return sign ? -scaled : scaled;
}

/** Millionths → a decimal string with `decimals` places, rounded half away from zero. */
export function formatMoney(millionths: bigint, decimals: number): string {
  const places = Math.max(0, Math.min(INTERNAL_SCALE, decimals));
  const unit = 10n ** BigInt(INTERNAL_SCALE - places);
  const negative = millionths < 0n;
  const magnitude = negative ? -millionths : millionths;
  const rounded = (magnitude + unit / 2n) / unit;
  const digits = rounded.toString().padStart(places + 1, '0');
  const text = places === 0 ? digits : `${digits.slice(0, -places)}.${digits.slice(-places)}`;
  return negative && rounded !== 0n ? `-${text}` : text;
}

/**
 * The net price of one unit: (unit price × quantity − discounts − tax included in the price) ÷
 * quantity, written with the unit price's decimals (at least two).
 */
export function netUnitPrice(input: { unitPrice: string; quantity: number; discounts: readonly string[]; includedTaxes: readonly string[] }): string {
  const decimals = Math.max(2, decimalsOf(input.unitPrice));
  const unit = parseMoney(input.unitPrice);
  if (input.quantity <= 0) return formatMoney(unit, decimals);
  const quantity = BigInt(input.quantity);
  let total = unit * quantity;
  for (const discount of input.discounts) total -= parseMoney(discount);
  for (const tax of input.includedTaxes) total -= parseMoney(tax);
  if (total < 0n) total = 0n;
  // Round half away from zero on the division too, in the internal scale.
  const perUnit = (total * 2n + quantity) / (2n * quantity);
  return formatMoney(perUnit, decimals);
}
