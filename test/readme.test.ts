import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configVariableNames } from '../src/config.js';

describe('the README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const configSection = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## HTTP and GraphQL'));

  it('documents every configuration variable the gateway reads', () => {
    const missing = configVariableNames.filter((name) => !configSection.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('documents no variable the gateway does not read', () => {
    const documented = [...configSection.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!).filter((n) => !n.endsWith('_FILE'));
    const unknown = [...new Set(documented)].filter((name) => !configVariableNames.includes(name) && name !== 'NAME');
    expect(unknown).toEqual([]);
  });

  it('starts with the two commands', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
