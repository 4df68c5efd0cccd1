import { sql, type SQL } from 'drizzle-orm';

/**
 * Lists in SQL, built one way for every repository. PostgreSQL takes at most 65,535 bind
 * parameters per statement, so a list of unknown length travels as ONE jsonb parameter
 * (`jsonParam`, `inList`, `pairIn`); `valuesTable` is for rows whose count the caller keeps
 * bounded (chunks of ROWS_PER_STATEMENT).
 */

/** Rows per multi-row statement: well under PostgreSQL's 65,535 parameters at ≤ 30 columns. */
export const ROWS_PER_STATEMENT = 2_000;

/** Rows per multi-row INSERT of the catalogues and mappings: well under the limit at ≤ 10 columns. */
export const ROWS_PER_INSERT = 1_000;

/** A value as one jsonb parameter: one bind value whatever its length. */
export function jsonParam(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** `column = any(list)` for lists of any length, as one parameter (an index scan still applies). */
export function inList(column: SQL | SQL.Aliased | { getSQL(): SQL }, values: readonly string[]): SQL {
  return sql`${column} = any(array(select jsonb_array_elements_text(${jsonParam(values)})))`;
}

/** `(first, second) in (pairs)` for any number of text pairs, as one jsonb parameter. */
export function pairIn(
  first: SQL | { getSQL(): SQL },
  second: SQL | { getSQL(): SQL },
  pairs: ReadonlyArray<readonly [string, string]>,
): SQL {
  return sql`(${first}, ${second}) in (
    select k.a, k.b from jsonb_to_recordset(${jsonParam(pairs.map(([a, b]) => ({ a, b })))}) as k(a text, b text))`;
}

/** `(values (…), (…)) as v(columns)`: each row typed by its own casts. */
export function valuesTable(rows: readonly SQL[], columns: string): SQL {
  return sql`(values ${sql.join([...rows], sql`, `)}) as v(${sql.raw(columns)})`;
}

/** A timestamp as a typed parameter (a bare Date in raw SQL is not sent by postgres.js under Drizzle). */
export function timestamptz(at: Date): SQL {
  return sql`${at.toISOString()}::timestamptz`;
}
