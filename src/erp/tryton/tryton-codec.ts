/**
 * Tryton's JSON-RPC value encoding (trytond/protocols/jsonrpc.py): Decimal, date, datetime, time,
 * timedelta and bytes travel as objects tagged with `__class__`. Outgoing values are wrapped in
 * the classes below (their `toJSON` writes the tagged form); incoming tagged objects are turned
 * into plain strings and numbers by `decodeTrytonJson`, so zod schemas see ordinary JSON.
 *
 * Decoded forms: Decimal → decimal string (`"19.90"`), date → `YYYY-MM-DD`, datetime → naive
 * `YYYY-MM-DDTHH:MM:SS.ffffff` in the server's clock, time → `HH:MM:SS.ffffff`, timedelta →
 * seconds, bytes → base64 string. Datetimes keep their microseconds so that they compare as
 * strings in the server's order and can be sent back exactly.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A `Numeric` argument (prices): sent exactly, never through a float. */
export class TrytonDecimal {
  readonly value: string;
  constructor(value: string | number) {
    const text = typeof value === 'number' ? String(value) : value.trim();
    if (!DECIMAL.test(text)) throw new TypeError(`not a decimal number: ${JSON.stringify(value)}`);
    this.value = text;
  }
  toJSON(): { __class__: 'Decimal'; decimal: string } {
    return { __class__: 'Decimal', decimal: this.value };
  }
}

/** A `Date` argument, from `YYYY-MM-DD`. */
export class TrytonDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  constructor(iso: string) {
    const match = DATE.exec(iso);
    if (!match) throw new TypeError(`not a YYYY-MM-DD date: ${JSON.stringify(iso)}`);
    [this.year, this.month, this.day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  }
  toJSON(): { __class__: 'date'; year: number; month: number; day: number } {
    return { __class__: 'date', year: this.year, month: this.month, day: this.day };
  }
}

/** A `DateTime` argument, from the naive `YYYY-MM-DDTHH:MM:SS[.ffffff]` form this codec decodes to. */
export class TrytonDateTime {
  private readonly parts: readonly number[];
  constructor(iso: string) {
    const match = DATETIME.exec(iso);
    if (!match) throw new TypeError(`not a naive ISO datetime: ${JSON.stringify(iso)}`);
    const micro = Number((match[7] ?? '0').padEnd(6, '0'));
    this.parts = [...match.slice(1, 7).map(Number), micro];
  }
  toJSON(): Record<string, number | string> {
    const [year, month, day, hour, minute, second, microsecond] = this.parts;
    return { __class__: 'datetime', year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second!, microsecond: microsecond! };
  }
}

/** Thrown (and turned into `ERP_INVALID_RESPONSE` by the client) when a tagged value is malformed. */
export class TrytonDecodeError extends Error {}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

function int(tagged: Record<string, unknown>, key: string, min: number, max: number): number {
  const value = tagged[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TrytonDecodeError(`${String(tagged.__class__)}.${key} is not an integer in ${min}..${max}`);
  }
  return value;
}

/** `"1E+1"` → `"10"`: Python's `str(Decimal)` may use exponents; the port wants plain decimals. */
function plainDecimal(text: string): string {
  if (DECIMAL.test(text)) return text;
  const match = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(text);
  if (!match) throw new TrytonDecodeError(`Decimal ${JSON.stringify(text)} is not a number`);
  const [, sign, whole, fraction = '', exponentText] = match;
  const exponent = Number(exponentText);
  const digits = (whole! + fraction).replace(/^0+(?=\d)/, '');
  const point = whole!.length + exponent;
  let result: string;
  if (point <= 0) result = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) result = digits + '0'.repeat(point - digits.length);
  else result = `${digits.slice(0, point)}.${digits.slice(point)}`;
  result = result.replace(/^0+(?=\d)/, '');
  return `${sign}${result}`;
}

function decodeTagged(tagged: Record<string, unknown>): unknown {
  switch (tagged.__class__) {
    case 'Decimal': {
      if (typeof tagged.decimal !== 'string') throw new TrytonDecodeError('Decimal without a decimal string');
      return plainDecimal(tagged.decimal);
    }
    case 'date':
      return `${pad(int(tagged, 'year', 1, 9999), 4)}-${pad(int(tagged, 'month', 1, 12))}-${pad(int(tagged, 'day', 1, 31))}`;
    case 'datetime':
      return (
        `${pad(int(tagged, 'year', 1, 9999), 4)}-${pad(int(tagged, 'month', 1, 12))}-${pad(int(tagged, 'day', 1, 31))}` +
        `T${pad(int(tagged, 'hour', 0, 23))}:${pad(int(tagged, 'minute', 0, 59))}:${pad(int(tagged, 'second', 0, 59))}` +
        `.${pad(int(tagged, 'microsecond', 0, 999_999), 6)}`
      );
    case 'time':
      return `${pad(int(tagged, 'hour', 0, 23))}:${pad(int(tagged, 'minute', 0, 59))}:${pad(int(tagged, 'second', 0, 59))}.${pad(int(tagged, 'microsecond', 0, 999_999), 6)}`;
    case 'timedelta':
      if (typeof tagged.seconds !== 'number') throw new TrytonDecodeError('timedelta without seconds');
      return tagged.seconds;
    case 'bytes':
      if (typeof tagged.base64 !== 'string') throw new TrytonDecodeError('bytes without base64');
      return tagged.base64.replace(/\s+/g, '');
    default:
      return tagged;
  }
}

/** Parses a trytond JSON body, decoding tagged values. Throws `SyntaxError` or `TrytonDecodeError`. */
export function decodeTrytonJson(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { __class__?: unknown }).__class__ === 'string') {
      return decodeTagged(value as Record<string, unknown>);
    }
    return value;
  });
}

/** Serialises a request body; the wrapper classes above write their tagged forms. */
export function encodeTrytonJson(value: unknown): string {
  return JSON.stringify(value);
}
