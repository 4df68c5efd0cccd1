/**
 * The function that stores an error code in a closed set: the code itself when `list` holds it,
 * else `fallback` (so a GraphQL enum built from the list never meets a value it does not know).
 */
export function closedCode<const T extends readonly string[]>(list: T, fallback: T[number]): (code: string) => T[number] {
  const listed: ReadonlySet<string> = new Set(list);
  return (code) => (listed.has(code) ? (code as T[number]) : fallback);
}
