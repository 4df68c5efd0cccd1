import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeyService } from '../auth/api-key.service.js';

/**
 * The demo prints an all-scopes key at every start. The key is kept in DATA_DIR (mode 0600) so a
 * restart prints the same key; the database still stores only its hash.
 */
export async function ensureDemoApiKey(apiKeys: ApiKeyService, dataDir: string): Promise<string> {
  const file = join(dataDir, 'demo-api-key');
  try {
    const saved = readFileSync(file, 'utf8').trim();
    if (saved && (await apiKeys.authenticate(saved))) return saved;
  } catch {
    // no saved key yet
  }
  const { key } = await apiKeys.create({ name: 'demo (printed at start-up)', scopes: ['read', 'sync', 'reserve', 'admin'] });
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
