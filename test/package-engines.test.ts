import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` on the Node the project states prints no engine warning: every package the lock file
 * installs accepts the oldest Node that package.json's `engines.node` allows (and the Node
 * running this test, when that is allowed too). package.json's `overrides` pin the few
 * code-generation dependencies whose newest releases need Node 22 (README, "Node version").
 */
const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };

const stated = pkg.engines.node;
const oldest = semver.minVersion(stated)!.version;

/** Every locked package whose `engines.node` refuses `version`. */
function refusing(version: string): string[] {
  return Object.entries(lock.packages)
    .filter(([path]) => path !== '')
    .flatMap(([path, entry]) => {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      return range && !semver.satisfies(version, range) ? [`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}`] : [];
    });
}

describe('package-lock.json against the Node version the project states', () => {
  it(`states a Node version (${stated}) and the lock is in step with package.json`, () => {
    expect(semver.validRange(stated)).not.toBeNull();
    expect(lock.packages['']).toMatchObject({ engines: { node: stated } });
  });

  it(`every locked package accepts the oldest stated Node (${oldest})`, () => {
    expect(refusing(oldest)).toEqual([]);
  });

  it('every locked package accepts the Node running the tests, when the project supports it', () => {
    if (!semver.satisfies(process.version, stated)) return;
    expect(refusing(process.version)).toEqual([]);
  });
});
