import { describe, expect, it } from 'vitest';
import { DEMO_FINISH_WORDS } from '../../src/demo/demo-environment.js';
import { createSkuNormalizer, DEFAULT_NORMALIZATION_RULES } from '../../src/inventory/sku-normalization.js';

const defaults = createSkuNormalizer(DEFAULT_NORMALIZATION_RULES);
const demo = createSkuNormalizer({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: DEMO_FINISH_WORDS });

describe('SKU normalization', () => {
  it('by default ignores case, separators and surrounding or repeated whitespace', () => {
    expect(defaults('Bracket_V2 blu')).toBe(defaults('BRACKET-V2-BLU'));
    expect(defaults('  bracket.v2/BLU ')).toBe('BRACKET-V2-BLU');
    expect(defaults('BRACKET--V2   BLU')).toBe('BRACKET-V2-BLU');
    expect(defaults('-BRACKET-V2-BLU-')).toBe('BRACKET-V2-BLU');
  });

  it('keeps different words apart', () => {
    expect(defaults('BRACKET-V2-BLU')).not.toBe(defaults('BRACKET-V2-BLUE'));
    expect(defaults('BOLT-M6X40')).not.toBe(defaults('BOLT-M6-X40'));
  });

  it('treats an abbreviation and its expansion as the same word, in either direction', () => {
    expect(demo('bracket-v2-blue')).toBe(demo('BRACKET-V2-BLU'));
    expect(demo('BRACKET-V2-BLUE')).toBe('BRACKET-V2-BLU');
    expect(demo('sealant-sil-310ml-grey')).toBe(demo('SEALANT-SIL-310ML-GRY'));
  });

  it('replaces whole words only', () => {
    expect(demo('BLUEPRINT-1')).toBe('BLUEPRINT-1');
    expect(demo('REDBOX-RED')).toBe('REDBOX-RED');
  });

  it('matches an expansion of several words in a row', () => {
    const zinc = createSkuNormalizer({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: { ZNC: 'zinc plated', ZN: 'zinc' } });
    expect(zinc('screw 4x40 zinc plated')).toBe('SCREW-4X40-ZNC');
    expect(zinc('screw-4x40-zinc')).toBe('SCREW-4X40-ZN');
  });

  it('honours rules that make case and separators significant', () => {
    const strict = createSkuNormalizer({ ignoreCase: false, ignoreSeparators: false, separators: '-_', ignoreWhitespace: true, abbreviations: { BLU: 'blue' } });
    expect(strict('bracket-v2')).not.toBe(strict('BRACKET-V2'));
    expect(strict('BRACKET_V2')).not.toBe(strict('BRACKET-V2'));
    expect(strict(' BRACKET-V2 ')).toBe('BRACKET-V2');
    expect(strict('BRACKET_blue')).toBe('BRACKET_BLU');
  });
});
