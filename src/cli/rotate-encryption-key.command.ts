import { createInstallationRepository } from '../shopify/credentials/installation.repository.js';
import { secretBoxOf } from '../shopify/credentials/credentials.js';
import { AppError } from '../shared/errors.js';
import { withDatabase } from './cli-database.js';
import { booleanOption, defineCommand, startProgress } from './command.js';

/**
 * `rotate-encryption-key`: seals every stored secret (Shopify access and refresh tokens) again
 * under ENCRYPTION_KEY, opening the old ones with ENCRYPTION_KEY_PREVIOUS. The procedure (README,
 * "Rotating ENCRYPTION_KEY"): set the new key as ENCRYPTION_KEY and the old one as
 * ENCRYPTION_KEY_PREVIOUS on every instance, run this, then remove ENCRYPTION_KEY_PREVIOUS.
 * Safe to run again (values already under the current key are left alone) and beside running
 * instances (one transaction, rows locked).
 */
export const rotateEncryptionKeyCommand = defineCommand({
  name: 'rotate-encryption-key',
  usage: 'rotate-encryption-key [--json]',
  summary: 're-encrypt every stored Shopify token under ENCRYPTION_KEY (the old key given as ENCRYPTION_KEY_PREVIOUS)',
  description: `Set ENCRYPTION_KEY to the new key and ENCRYPTION_KEY_PREVIOUS to the old one on every instance,
run this once, then remove ENCRYPTION_KEY_PREVIOUS. Safe to run again and beside running instances.
All in one transaction: progress goes to stderr while it runs (silent with --json); Ctrl-C rolls
it back (nothing changed, exit 1). Exit 0 when done, 1 when a key is missing or a stored secret
opens under neither key.`,
  options: {
    json: { type: 'boolean', description: 'print the counts as JSON' },
  },
  examples: ['rotate-encryption-key', 'ENCRYPTION_KEY=$NEW_KEY ENCRYPTION_KEY_PREVIOUS=$OLD_KEY npm run cli -- rotate-encryption-key --json'],
  async run(args, io) {
    const json = booleanOption(args, 'json');
    return withDatabase(io, async (database, config) => {
      const box = secretBoxOf(config);
      if (!box) throw new AppError('CONFIG_INVALID', 'rotate-encryption-key: set ENCRYPTION_KEY (the new key) and ENCRYPTION_KEY_PREVIOUS (the old one)');
      let counts = { rows: 0, checked: 0, resealed: 0 };
      const progress = startProgress(io, {
        unit: 'installations checked',
        silent: json,
        read: () => ({ done: counts.checked, total: counts.rows, detail: `${counts.resealed} re-encrypted` }),
      });
      let result: { rows: number; resealed: number };
      try {
        result = await createInstallationRepository(database.db, box).resealAll({ onProgress: (now) => (counts = now), signal: io.signal });
      } catch (error) {
        if (!io.signal?.aborted) throw error;
        io.stderr.write('rotate-encryption-key: stopped; the transaction was rolled back, nothing changed\n');
        return 1;
      } finally {
        progress.stop();
      }
      const { rows, resealed } = result;
      if (json) {
        io.stdout.write(`${JSON.stringify({ rows, resealed, keyId: box.currentKeyId, removePreviousKey: Boolean(config.encryptionKeyPrevious) }, null, 2)}\n`);
        return 0;
      }
      io.stdout.write(`${resealed} of ${rows} stored Shopify installations re-encrypted under key ${box.currentKeyId}\n`);
      if (config.encryptionKeyPrevious) io.stdout.write('every secret is now under ENCRYPTION_KEY: remove ENCRYPTION_KEY_PREVIOUS from every instance\n');
      return 0;
    });
  },
});
