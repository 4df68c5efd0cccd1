import type { NormalizationRules } from './inventory.models.js';

/**
 * The defaults an operator starts from: case, the usual separators and whitespace do not tell
 * two SKUs apart (`Bracket_V2 blu` = `BRACKET-V2-BLU`); no abbreviations.
 */
export const DEFAULT_NORMALIZATION_RULES: NormalizationRules = {
  ignoreCase: true,
  ignoreSeparators: true,
  separators: '-_./',
  ignoreWhitespace: true,
  abbreviations: {},
};

/** A SKU cut into words at separators and whitespace; `separators[i]` sits after `words[i]`. */
interface Words {
  prefix: string;
  words: string[];
  separators: string[];
  suffix: string;
}

const WHITESPACE = /\s/;

/**
 * Builds the function that turns a SKU into its match key under `rules`; two SKUs match by rule
 * when their keys are equal. Words are what lies between separators or whitespace. Abbreviation
 * pairs are an equivalence (`BLU` = `blue`, either way round) on whole words; an expansion of
 * several words (`zinc plated`) replaces the same words in a row.
 */
export function createSkuNormalizer(rules: NormalizationRules): (sku: string) => string {
  const separatorChars = new Set([...rules.separators]);
  const isBoundary = (char: string) => separatorChars.has(char) || WHITESPACE.test(char);

  /** A run of separators/whitespace between two words, as the rules see it. */
  const betweenWords = (run: string): string => {
    if (rules.ignoreSeparators && rules.ignoreWhitespace) return '-';
    let out = '';
    for (const char of run) {
      if (WHITESPACE.test(char)) out += rules.ignoreWhitespace ? ' ' : char;
      else out += rules.ignoreSeparators ? '-' : char;
    }
    if (rules.ignoreWhitespace) out = out.replace(/ +/g, ' ').replace(/(?<=\S) | (?=\S)/g, '');
    if (rules.ignoreSeparators) out = out.replace(/-+/g, '-');
    return out;
  };

  /** A run before the first or after the last word: ignored characters there are noise. */
  const atEdge = (run: string): string => {
    let out = '';
    for (const char of run) {
      if (WHITESPACE.test(char)) out += rules.ignoreWhitespace ? '' : char;
      else out += rules.ignoreSeparators ? '' : char;
    }
    return out;
  };

  const split = (raw: string): Words => {
    const text = rules.ignoreCase ? raw.toUpperCase() : raw;
    const words: string[] = [];
    const runs: string[] = [];
    let current = '';
    let inWord = false;
    let prefix = '';
    for (const char of text) {
      const boundary = isBoundary(char);
      if (boundary === !inWord) {
        current += char;
        continue;
      }
      if (inWord) words.push(current);
      else if (words.length === 0) prefix = current;
      else runs.push(current);
      current = char;
      inWord = !boundary;
    }
    let suffix = '';
    if (inWord) words.push(current);
    else if (words.length === 0) prefix = current;
    else suffix = current;
    return { prefix: atEdge(prefix), words, separators: runs.map(betweenWords), suffix: atEdge(suffix) };
  };

  // Every form of a pair (the abbreviation and its expansion) maps to the abbreviation's words.
  // Longest forms first, so `ZINC PLATED` wins over `ZINC`.
  const forms: Array<{ words: string[]; canonical: Words }> = [];
  for (const [abbreviation, expansion] of Object.entries(rules.abbreviations)) {
    const canonical = split(abbreviation);
    if (canonical.words.length === 0) continue;
    for (const form of [abbreviation, expansion]) {
      const { words } = split(form);
      if (words.length > 0) forms.push({ words, canonical });
    }
  }
  forms.sort((a, b) => b.words.length - a.words.length);

  return (sku: string): string => {
    const { prefix, words, separators, suffix } = split(sku);
    const outWords: string[] = [];
    const outSeparators: string[] = [];
    let i = 0;
    while (i < words.length) {
      const form = forms.find((candidate) => candidate.words.every((word, k) => words[i + k] === word));
      const span = form ? form.words.length : 1;
      if (form) {
        outWords.push(...form.canonical.words);
        outSeparators.push(...form.canonical.separators);
      } else {
        outWords.push(words[i]!);
      }
      i += span;
      if (i < words.length) outSeparators.push(separators[i - 1]!);
    }
    let key = prefix;
    outWords.forEach((word, k) => {
      key += word + (k < outSeparators.length ? outSeparators[k] : '');
    });
    return key + suffix;
  };
}

export interface AbbreviationProblem {
  readonly index: number;
  readonly side: 'from' | 'to';
  readonly code: 'BLANK_TERM' | 'DUPLICATE_TERM';
  readonly message: string;
}

/**
 * Checks an operator's list of abbreviation pairs: no blank term, and no term (compared trimmed,
 * ignoring case) in two places, since a term meaning two things would make matching depend on order.
 * On success gives the pairs trimmed, as the rules store them.
 */
export function checkAbbreviations(
  pairs: ReadonlyArray<{ readonly from: string; readonly to: string }>,
): { ok: true; abbreviations: Record<string, string> } | { ok: false; problems: AbbreviationProblem[] } {
  const problems: AbbreviationProblem[] = [];
  const seen = new Map<string, string>();
  pairs.forEach((pair, index) => {
    for (const side of ['from', 'to'] as const) {
      const term = pair[side].trim();
      if (term === '') {
        problems.push({ index, side, code: 'BLANK_TERM', message: `abbreviation ${index + 1}: ${side} is blank` });
        continue;
      }
      const key = term.toUpperCase();
      // A pair spelling one word twice (`RED` = `red`) is harmless; only other pairs clash.
      if (side === 'to' && key === pair.from.trim().toUpperCase()) continue;
      const earlier = seen.get(key);
      if (earlier !== undefined) problems.push({ index, side, code: 'DUPLICATE_TERM', message: `abbreviation ${index + 1}: ${term} is already used (${earlier})` });
      else seen.set(key, `abbreviation ${index + 1} ${side}`);
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, abbreviations: Object.fromEntries(pairs.map((pair) => [pair.from.trim(), pair.to.trim()])) };
}
